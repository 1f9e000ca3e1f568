# One shape for every folder: a static library named after the folder, src/ as include root.
function(hecs_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${M_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_BINARY_DIR}/src)
  target_compile_options(${name} PRIVATE ${HECS_WARNINGS} ${HECS_HARDENING})
  target_link_libraries(${name} PUBLIC ${M_DEPS})
endfunction()

function(hecs_binary name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${M_SOURCES})
  target_compile_options(${name} PRIVATE ${HECS_WARNINGS} ${HECS_HARDENING})
  target_link_libraries(${name} PRIVATE ${M_DEPS})
endfunction()

# A GoogleTest executable registered with ctest (tests are discovered one by one, so the
# summary counts each behaviour). LABELS lets `ctest -L unit` pick a kind.
include(GoogleTest)
function(hecs_test name)
  cmake_parse_arguments(M "" "LABEL;TIMEOUT;FIXTURES" "SOURCES;DEPS" ${ARGN})
  if(NOT M_LABEL)
    set(M_LABEL unit)
  endif()
  if(NOT M_TIMEOUT)
    set(M_TIMEOUT 120)
  endif()
  add_executable(${name} ${M_SOURCES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_compile_options(${name} PRIVATE ${HECS_WARNINGS})
  target_link_libraries(${name} PRIVATE ${M_DEPS} hecs_test_main)
  set(fixtures)
  if(M_FIXTURES)
    set(fixtures FIXTURES_REQUIRED ${M_FIXTURES})  # a setup test that must run first
  endif()
  gtest_discover_tests(${name}
    TEST_PREFIX "${name}."
    PROPERTIES LABELS ${M_LABEL} TIMEOUT ${M_TIMEOUT} ${fixtures}
    DISCOVERY_TIMEOUT 30)
endfunction()

# Adds each listed folder that has a CMakeLists.txt.
macro(hecs_subdirs)
  foreach(dir ${ARGN})
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/CMakeLists.txt)
      add_subdirectory(${dir})
    endif()
  endforeach()
endmacro()
