# Benchmarks' helpers: fwseal-pollgen, the mutual-TLS keep-alive load generator of bench/poll.sh.
if(EXISTS ${CMAKE_SOURCE_DIR}/bench/pollgen.c)
  pkg_check_modules(EVENT REQUIRED IMPORTED_TARGET libevent libevent_openssl)
  add_executable(fwseal-pollgen ${CMAKE_SOURCE_DIR}/bench/pollgen.c)
  target_link_libraries(fwseal-pollgen PRIVATE PkgConfig::EVENT OpenSSL::SSL OpenSSL::Crypto m)
endif()
