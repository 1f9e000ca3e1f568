# The admin panel (web/admin, docs/admin-panel.md), built with npm and Vite into
# ${PROJECT_BINARY_DIR}/web/admin, which hecs-control serves by default (web_root). Part of ALL:
# it runs again only when a file it is built from changed. npm ci runs into the build tree from
# the committed lockfile, and again only when that lockfile changed (web/admin/npm.sh).
set(HECS_WEB_ADMIN_DIR ${PROJECT_BINARY_DIR}/web/admin)
set(HECS_WEB_ADMIN_WORK ${PROJECT_BINARY_DIR}/web/admin-work)
set(web_src ${PROJECT_SOURCE_DIR}/web/admin)
find_program(HECS_NPM npm)
if(NOT HECS_NPM)
  message(WARNING "npm not found: building the admin panel will fail; run scripts/install-deps.sh")
endif()
file(GLOB_RECURSE hecs_web_admin_sources CONFIGURE_DEPENDS ${web_src}/src/*)
add_custom_command(
  OUTPUT ${HECS_WEB_ADMIN_WORK}/build.stamp
  COMMAND sh ${web_src}/npm.sh ${HECS_WEB_ADMIN_WORK} build ${HECS_WEB_ADMIN_DIR}
  COMMAND ${CMAKE_COMMAND} -E touch ${HECS_WEB_ADMIN_WORK}/build.stamp
  DEPENDS ${hecs_web_admin_sources} ${web_src}/index.html ${web_src}/package.json
          ${web_src}/package-lock.json ${web_src}/vite.config.ts ${web_src}/tsconfig.json
          ${web_src}/npm.sh
  COMMENT "Building the admin panel (web/admin: npm ci if the lockfile changed, vite build)"
  VERBATIM)
add_custom_target(hecs_web_admin ALL DEPENDS ${HECS_WEB_ADMIN_WORK}/build.stamp)

# Vitest: the API client and the components, in jsdom.
add_test(NAME web_admin_vitest COMMAND sh ${web_src}/npm.sh ${HECS_WEB_ADMIN_WORK} test)
set_tests_properties(web_admin_vitest PROPERTIES LABELS web TIMEOUT 300)
