# make install (cmake --install BUILD --prefix PREFIX, with DESTDIR honoured by CMake):
#   bin/fwseal, bin/fwseal-agent
#   share/man/man1/fwseal.1, fwseal-agent.1
#   share/fwseal/...            data/ (the CycloneDX schemas; FWSEAL_DATA_DIR points there)
#   share/doc/fwseal/*.md       the documentation
#   lib/systemd/system/*        the units in dist/ (server, agent, refresh timer, monitor)
#   include/fwseal/*.h          the public headers
#   lib/libfwseal_*.a           the static libraries, one per module
include(GNUInstallDirs)

install(TARGETS fwseal_cli fwseal-agent RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/man/fwseal.1 ${CMAKE_SOURCE_DIR}/man/fwseal-agent.1
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/data/ DESTINATION ${CMAKE_INSTALL_DATADIR}/fwseal)
file(GLOB FWS_DOCS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${FWS_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB FWS_UNITS ${CMAKE_SOURCE_DIR}/dist/*.service ${CMAKE_SOURCE_DIR}/dist/*.timer)
install(FILES ${FWS_UNITS} DESTINATION lib/systemd/system)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/fwseal DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")

# Every module that has sources is a static library; interface-only modules have nothing to ship.
set(FWS_STATIC_LIBS fwseal_core)
foreach(lib ${FWS_MODULES})
  get_target_property(kind ${lib} TYPE)
  if(kind STREQUAL "STATIC_LIBRARY")
    list(APPEND FWS_STATIC_LIBS ${lib})
  endif()
endforeach()
install(TARGETS ${FWS_STATIC_LIBS} ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
