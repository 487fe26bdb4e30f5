# omni_install_package(<Package> <target> <headers folder>)
#
# Installs a library for builds out of tree: the target in the export set <Package>Targets
# (imported as <Package>::<target>), its public headers, and <Package>Config.cmake (from
# cmake/<Package>Config.cmake.in) with a version file, all under lib/cmake/<Package>.
include(CMakePackageConfigHelpers)
function(omni_install_package package target headers)
  install(TARGETS ${target} EXPORT ${package}Targets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(DIRECTORY ${headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  set(destination ${CMAKE_INSTALL_LIBDIR}/cmake/${package})
  configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/${package}Config.cmake.in
    ${CMAKE_CURRENT_BINARY_DIR}/${package}Config.cmake INSTALL_DESTINATION ${destination})
  write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/${package}ConfigVersion.cmake
    COMPATIBILITY SameMajorVersion)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/${package}Config.cmake
                ${CMAKE_CURRENT_BINARY_DIR}/${package}ConfigVersion.cmake
    DESTINATION ${destination})
  install(EXPORT ${package}Targets NAMESPACE ${package}:: DESTINATION ${destination})
endfunction()
