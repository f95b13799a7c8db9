# Unit tests: tests/unit/test_<module>[_more].c, one cmocka executable each, linked against
# its module's library only (so each module's tests build without the rest).
if(NOT CMOCKA_FOUND)
  message(FATAL_ERROR "cmocka not found: run scripts/setup")
endif()
function(fws_module_of name prefix out)
  string(REGEX REPLACE "^${prefix}" "" rest ${name}) # the leading prefix only ("attest_tpm" holds "test_")
  string(REGEX REPLACE "_.*" "" m ${rest})
  if(TARGET fwseal_${m})
    set(${out} fwseal_${m} PARENT_SCOPE)
  else()
    set(${out} fwseal PARENT_SCOPE)
  endif()
endfunction()
set(FWS_TEST_ENV
  "FWS_TESTDATA=${FWS_TESTDATA}"
  "FWS_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
  "FWS_BUILD_DIR=${CMAKE_BINARY_DIR}"
  "FWSEAL=${CMAKE_BINARY_DIR}/fwseal"
  "FWSEAL_AGENT=${CMAKE_BINARY_DIR}/fwseal-agent")

file(GLOB FWS_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
file(GLOB FWS_UNIT_HELPERS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/helpers/*.c)
foreach(src ${FWS_UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src} ${FWS_UNIT_HELPERS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/tests/unit)
  fws_module_of(${name} test_ mod)
  target_link_libraries(${name} PRIVATE ${mod} PkgConfig::CMOCKA)
  # Tests build scratch paths with snprintf into PATH_MAX buffers; gcc's -O2 truncation
  # analysis flags those false positives. Library code keeps the warning.
  target_compile_options(${name} PRIVATE $<$<C_COMPILER_ID:GNU>:-Wno-format-truncation>)
  add_test(NAME unit/${name} COMMAND ${name})
  set_tests_properties(unit/${name} PROPERTIES LABELS unit ENVIRONMENT "${FWS_TEST_ENV}")
endforeach()

# The store's test prepares PostgreSQL schemas with libpq itself.
if(TARGET test_store)
  target_link_libraries(test_store PRIVATE PkgConfig::PQ)
endif()

# Command-line tests: tests/cli/*.sh, run with bash against the built binaries.
file(GLOB FWS_CLI_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/cli/*.sh)
foreach(src ${FWS_CLI_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME cli/${name} COMMAND bash ${src})
  set_tests_properties(cli/${name} PROPERTIES LABELS cli ENVIRONMENT "${FWS_TEST_ENV}"
    TIMEOUT 600)
endforeach()

# Interop tests: tests/interop/*.sh, peers we did not write (openssl, Node packages).
file(GLOB FWS_INTEROP_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/interop/*.sh)
foreach(src ${FWS_INTEROP_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME interop/${name} COMMAND bash ${src})
  set_tests_properties(interop/${name} PROPERTIES LABELS interop ENVIRONMENT "${FWS_TEST_ENV}"
    TIMEOUT 600)
endforeach()

# Fuzz targets: tests/fuzz/fuzz_*.c, libFuzzer; each runs FWS_FUZZ_SECONDS under ctest.
if(FWS_FUZZ)
  file(GLOB FWS_FUZZERS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
  foreach(src ${FWS_FUZZERS})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src})
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
    target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src)
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    fws_module_of(${name} fuzz_ mod)
    target_link_libraries(${name} PRIVATE ${mod})
    add_test(NAME fuzz/${name}
      COMMAND bash ${CMAKE_SOURCE_DIR}/tests/fuzz/run.sh ${CMAKE_BINARY_DIR}/fuzz/${name}
              ${FWS_FUZZ_SECONDS} ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
    set_tests_properties(fuzz/${name} PROPERTIES LABELS fuzz TIMEOUT 900)
  endforeach()
endif()
