# Warning flags, each with its reason. They apply to project targets only (hecs_module / hecs_test).
set(HECS_WARNINGS
  -Wall -Wextra             # the baseline everyone expects
  -Wshadow                  # a shadowed name in a long handler is a classic async bug
  -Wnon-virtual-dtor        # deleting through a base pointer must be safe
  -Wold-style-cast          # casts must say which kind they are
  -Wsuggest-override        # overrides must say so, so a signature drift breaks the build
  -Werror                   # a warning left in stays forever
  -Wno-maybe-uninitialized  # g++ 12 false positive in co_spawn with Result<void>
)
set(HECS_HARDENING
  $<$<NOT:$<CONFIG:Debug>>:-fstack-protector-strong>  # canaries on stack buffers
  $<$<NOT:$<CONFIG:Debug>>:-D_FORTIFY_SOURCE=2>       # checked libc buffer calls
)
