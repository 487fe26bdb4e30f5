# omni_install_package(<Package> <target> <headers folder> [HEADERS <files...>])
#
# Installs a library for builds out of tree: the target in the export set <Package>Targets
# (imported as <Package>::<target>), its public headers, and <Package>Config.cmake (from
# cmake/<Package>Config.cmake.in) with a version file, all under lib/cmake/<Package>.
# The public headers are the whole folder, or only HEADERS (paths inside the folder) when the
# library exports only part of what its folder declares.
include(CMakePackageConfigHelpers)
function(omni_install_package package target headers)
  cmake_parse_arguments(ARG "" "" "HEADERS" ${ARGN})
  install(TARGETS ${target} EXPORT ${package}Targets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  if(ARG_HEADERS)
    get_filename_component(folder_name ${headers} NAME)
    foreach(header IN LISTS ARG_HEADERS)
      get_filename_component(subfolder ${header} DIRECTORY)
      install(FILES ${headers}/${header}
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/${folder_name}/${subfolder})
    endforeach()
  else()
    install(DIRECTORY ${headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  endif()
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
