# omni_add_plugin(<name> SOURCES <files...> [LIBRARIES <targets...>] [OUTPUT_DIR <dir>] [NO_INSTALL])
#
# Builds a loadable plugin module for the omnihost host: hidden visibility (only the
# descriptor entry point is exported), linked against the SDK, named <name>.so without the
# "lib" prefix, and placed where the host looks for plugins.
function(omni_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "OUTPUT_DIR" "SOURCES;LIBRARIES" ${ARGN})
  add_library(${name} MODULE ${ARG_SOURCES})
  if(TARGET OmniSDK::omni_sdk)
    target_link_libraries(${name} PRIVATE OmniSDK::omni_sdk ${ARG_LIBRARIES})
  else()
    target_link_libraries(${name} PRIVATE omni_sdk ${ARG_LIBRARIES})
  endif()
  if(NOT ARG_OUTPUT_DIR)
    if(DEFINED OMNI_PLUGIN_OUTPUT_DIR)
      set(ARG_OUTPUT_DIR "${OMNI_PLUGIN_OUTPUT_DIR}")
    else()
      set(ARG_OUTPUT_DIR "${CMAKE_BINARY_DIR}/plugins")
    endif()
  endif()
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIR}"
    INSTALL_RPATH "$ORIGIN/../..")
  if(NOT ARG_NO_INSTALL)
    # Out of tree, plugins install where the installed host looks: <prefix>/lib/omnihost/plugins.
    include(GNUInstallDirs)
    if(DEFINED OMNI_PLUGIN_INSTALL_DIR)
      set(destination "${OMNI_PLUGIN_INSTALL_DIR}")
    else()
      set(destination "${CMAKE_INSTALL_LIBDIR}/omnihost/plugins")
    endif()
    install(TARGETS ${name} LIBRARY DESTINATION "${destination}")
  endif()
endfunction()
