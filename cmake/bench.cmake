# Benchmarks' helpers: fwseal-pollgen, the mutual-TLS keep-alive load generator of bench/poll.sh
# and tests/cli/serve_conns.sh. It is a measuring tool, not fwseal code: it is built without
# sanitizers even in the ASan build, so that it does not slow down what it measures.
if(EXISTS ${CMAKE_SOURCE_DIR}/bench/pollgen.c)
  pkg_check_modules(EVENT REQUIRED IMPORTED_TARGET libevent libevent_openssl)
  add_executable(fwseal-pollgen ${CMAKE_SOURCE_DIR}/bench/pollgen.c)
  target_link_libraries(fwseal-pollgen PRIVATE PkgConfig::EVENT OpenSSL::SSL OpenSSL::Crypto m)
  if(FWS_SANITIZE OR FWS_FUZZ)
    target_compile_options(fwseal-pollgen PRIVATE -fno-sanitize=all)
    target_link_options(fwseal-pollgen PRIVATE -fno-sanitize=all)
  endif()
endif()
