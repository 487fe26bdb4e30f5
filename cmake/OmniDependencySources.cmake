# Building a dependency from its pinned source archive (cmake/dependency-sources.txt) when the
# system lacks it: unpacked, configured, built and installed into a private prefix inside the
# build tree while CMake configures, so that the normal find_package / find_library calls then
# find it there. A stamp naming the archive's checksum skips the work on later configures.
#
# Libraries are built shared (installed beside omnihost's own and found through its RPATH),
# except where a caller asks for a static one (sentencepiece, which must hide its protobuf).

set(OMNI_DEPS_PREFIX "${PROJECT_BINARY_DIR}/_deps/install" CACHE PATH
    "Where dependencies built from source are installed")
set(OMNI_DEPS_SOURCE_DIR "" CACHE PATH
    "A folder with the pinned source archives (scripts/fetch-deps-sources.sh fills it); empty: download them from Debian's archive")
set(OMNI_DEBIAN_MIRROR "http://deb.debian.org/debian" CACHE STRING
    "The Debian archive that pinned sources are downloaded from")

# Reads name -> archive, sha256, pool directory from the manifest.
function(omni_dependency_source name out_archive out_sha256 out_pool)
  file(STRINGS "${PROJECT_SOURCE_DIR}/cmake/dependency-sources.txt" lines)
  foreach(line IN LISTS lines)
    if(line MATCHES "^${name}[ \t]+([^ \t]+)[ \t]+([0-9a-f]+)[ \t]+([^ \t]+)")
      set(${out_archive} "${CMAKE_MATCH_1}" PARENT_SCOPE)
      set(${out_sha256} "${CMAKE_MATCH_2}" PARENT_SCOPE)
      set(${out_pool} "${CMAKE_MATCH_3}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  message(FATAL_ERROR "cmake/dependency-sources.txt has no entry for '${name}'")
endfunction()

# The archive's path, from OMNI_DEPS_SOURCE_DIR or downloaded (checksum checked either way).
function(omni_fetch_dependency_archive name out_path)
  omni_dependency_source(${name} archive sha256 pool)
  if(OMNI_DEPS_SOURCE_DIR AND EXISTS "${OMNI_DEPS_SOURCE_DIR}/${archive}")
    set(path "${OMNI_DEPS_SOURCE_DIR}/${archive}")
    file(SHA256 "${path}" actual)
    if(NOT actual STREQUAL sha256)
      message(FATAL_ERROR "${path}: SHA-256 ${actual}, expected ${sha256} (cmake/dependency-sources.txt)")
    endif()
  else()
    set(path "${PROJECT_BINARY_DIR}/_deps/downloads/${archive}")
    if(NOT EXISTS "${path}")
      if(OMNI_DEPS_SOURCE_DIR)
        message(STATUS "${name}: ${archive} is not in ${OMNI_DEPS_SOURCE_DIR}; downloading it")
      endif()
      set(url "${OMNI_DEBIAN_MIRROR}/pool/main/${pool}/${archive}")
      file(DOWNLOAD "${url}" "${path}.part" EXPECTED_HASH SHA256=${sha256} STATUS status)
      list(GET status 0 code)
      if(NOT code EQUAL 0)
        file(REMOVE "${path}.part")
        list(GET status 1 reason)
        message(FATAL_ERROR "${name}: cannot download ${url}: ${reason}. Without internet, "
                            "fill a folder with scripts/fetch-deps-sources.sh elsewhere and "
                            "configure with -DOMNI_DEPS_SOURCE_DIR=<folder>.")
      endif()
      file(RENAME "${path}.part" "${path}")
    endif()
  endif()
  set(${out_path} "${path}" PARENT_SCOPE)
endfunction()

# Runs one step of a dependency's build, its output kept in a log that errors point to.
function(omni_dependency_step name step log)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_FILE "${log}" ERROR_FILE "${log}.err")
  if(NOT result EQUAL 0)
    file(READ "${log}.err" errors)
    message(FATAL_ERROR "${name}: the ${step} step failed (${result}); see ${log} and ${log}.err\n${errors}")
  endif()
endfunction()

# omni_build_dependency(<name> [STATIC] [CMAKE_ARGS <args...>] [FROM_DEBIAN_PACKAGE]
#                       [EMPTY_FILES <paths...>])
#
# FROM_DEBIAN_PACKAGE: the archive is a binary .deb of a header-only library; its usr/ tree is
# copied into the prefix instead of being built.
# EMPTY_FILES: files that Debian's repacked archive left out but the build still names (for
# Windows only), created empty before configuring.
function(omni_build_dependency name)
  cmake_parse_arguments(ARG "STATIC;FROM_DEBIAN_PACKAGE" "" "CMAKE_ARGS;EMPTY_FILES" ${ARGN})
  omni_dependency_source(${name} archive sha256 pool)
  set(stamp "${OMNI_DEPS_PREFIX}/.stamps/${name}-${sha256}")
  if(EXISTS "${stamp}")
    return()
  endif()
  omni_fetch_dependency_archive(${name} archive_path)
  message(STATUS "${name}: building ${archive} into ${OMNI_DEPS_PREFIX} (once per build folder)")
  set(work "${PROJECT_BINARY_DIR}/_deps/${name}")
  file(REMOVE_RECURSE "${work}")
  file(MAKE_DIRECTORY "${work}/src")
  file(ARCHIVE_EXTRACT INPUT "${archive_path}" DESTINATION "${work}/src")

  if(ARG_FROM_DEBIAN_PACKAGE)
    # A .deb is an ar archive holding data.tar.*; the files live under usr/.
    file(GLOB data "${work}/src/data.tar.*")
    file(ARCHIVE_EXTRACT INPUT "${data}" DESTINATION "${work}/data")
    file(COPY "${work}/data/usr/include" DESTINATION "${OMNI_DEPS_PREFIX}")
    file(GLOB cmake_dirs "${work}/data/usr/lib/*/cmake" "${work}/data/usr/lib/cmake"
                         "${work}/data/usr/share/cmake")
    foreach(dir IN LISTS cmake_dirs)
      file(COPY "${dir}" DESTINATION "${OMNI_DEPS_PREFIX}/lib")
    endforeach()
  else()
    file(GLOB top "${work}/src/*")
    list(LENGTH top count)
    if(NOT count EQUAL 1)
      message(FATAL_ERROR "${archive_path}: expected one top folder, found ${count}")
    endif()
    foreach(file IN LISTS ARG_EMPTY_FILES)
      get_filename_component(folder "${top}/${file}" DIRECTORY)
      file(MAKE_DIRECTORY "${folder}")
      file(TOUCH "${top}/${file}")
    endforeach()
    if(ARG_STATIC)
      set(shared OFF)
    else()
      set(shared ON)
    endif()
    set(launcher "")
    if(CMAKE_CXX_COMPILER_LAUNCHER)
      set(launcher "-DCMAKE_C_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER}"
                   "-DCMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER}")
    endif()
    omni_dependency_step(${name} configure "${work}/configure.log"
      "${CMAKE_COMMAND}" -S "${top}" -B "${work}/build" -G "${CMAKE_GENERATOR}"
      -DCMAKE_BUILD_TYPE=Release
      "-DCMAKE_C_COMPILER=${CMAKE_C_COMPILER}" "-DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}"
      ${launcher}
      "-DCMAKE_INSTALL_PREFIX=${OMNI_DEPS_PREFIX}"
      # Typed: an untyped relative path would be made absolute against the working folder.
      -DCMAKE_INSTALL_LIBDIR:PATH=lib
      "-DCMAKE_PREFIX_PATH=${OMNI_DEPS_PREFIX}" "-DCMAKE_INSTALL_RPATH=\$ORIGIN"
      -DBUILD_SHARED_LIBS=${shared} -DCMAKE_POSITION_INDEPENDENT_CODE=ON
      -DBUILD_TESTING=OFF
      ${ARG_CMAKE_ARGS})
    include(ProcessorCount)
    ProcessorCount(jobs)
    omni_dependency_step(${name} build "${work}/build.log"
      "${CMAKE_COMMAND}" --build "${work}/build" --parallel ${jobs})
    # CMake caches the listing of each folder it searched during one configure run and
    # reloads it only when the folder's modification time, in whole seconds, has changed. With
    # the previous dependency found in the shared prefix a moment ago, an install within the
    # same second would stay invisible to the find that follows ("built ... but not found",
    # seen when ccache makes these builds take well under a second). Waiting a second first
    # gives the install a later time.
    execute_process(COMMAND "${CMAKE_COMMAND}" -E sleep 1)
    omni_dependency_step(${name} install "${work}/install.log"
      "${CMAKE_COMMAND}" --install "${work}/build")
  endif()
  file(REMOVE_RECURSE "${work}/src" "${work}/data")
  file(WRITE "${stamp}" "${archive}\n")
endfunction()

# For libraries without a CMake package: finds <header> and <library>, setting
# <PREFIX>_INCLUDE_DIR, <PREFIX>_LIBRARY and, when both are found, <PREFIX>_FOUND.
macro(omni_find_header_and_library prefix header library)
  find_path(${prefix}_INCLUDE_DIR ${header})
  find_library(${prefix}_LIBRARY NAMES ${library})
  if(${prefix}_INCLUDE_DIR AND ${prefix}_LIBRARY)
    set(${prefix}_FOUND TRUE)
  endif()
endmacro()

# An imported target for what omni_find_header_and_library(<PREFIX> ...) found.
function(omni_imported_library target prefix)
  add_library(${target} UNKNOWN IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES IMPORTED_LOCATION "${${prefix}_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${${prefix}_INCLUDE_DIR}")
endfunction()

# omni_dependency(<name> <found variable> <find code> [build options...])
#
# Runs <find code> (find_package / find_path / find_library calls that set <found variable>)
# against the system, unless OMNI_DEPENDENCIES is "source"; when that finds nothing (and
# OMNI_DEPENDENCIES is not "system"), builds <name> from its pinned source and runs the code
# again, searching only the private prefix.
macro(omni_dependency name found_variable find_code)
  if(NOT OMNI_DEPENDENCIES STREQUAL "source")
    cmake_language(EVAL CODE "${find_code}")
  endif()
  file(GLOB omni_stamp "${OMNI_DEPS_PREFIX}/.stamps/${name}-*")
  if(${found_variable} AND omni_stamp)
    # Found in the prefix that an earlier configure built it into.
    list(APPEND OMNI_DEPENDENCY_REPORT "${name}: pinned source")
    set(OMNI_DEPS_BUILT_FROM_SOURCE ON)
  elseif(${found_variable})
    list(APPEND OMNI_DEPENDENCY_REPORT "${name}: system")
  else()
    if(OMNI_DEPENDENCIES STREQUAL "system")
      message(FATAL_ERROR "${name} was not found on this system (OMNI_DEPENDENCIES=system): "
                          "install it, or configure with -DOMNI_DEPENDENCIES=auto to build it "
                          "from its pinned source")
    endif()
    omni_build_dependency(${name} ${ARGN})
    set(omni_saved_prefix_path "${CMAKE_PREFIX_PATH}")
    set(CMAKE_PREFIX_PATH "${OMNI_DEPS_PREFIX}")
    set(CMAKE_FIND_USE_CMAKE_SYSTEM_PATH FALSE)
    set(CMAKE_FIND_USE_SYSTEM_ENVIRONMENT_PATH FALSE)
    cmake_language(EVAL CODE "${find_code}")
    set(CMAKE_PREFIX_PATH "${omni_saved_prefix_path}")
    unset(CMAKE_FIND_USE_CMAKE_SYSTEM_PATH)
    unset(CMAKE_FIND_USE_SYSTEM_ENVIRONMENT_PATH)
    if(NOT ${found_variable})
      message(FATAL_ERROR "${name} was built into ${OMNI_DEPS_PREFIX} but not found there")
    endif()
    list(APPEND OMNI_DEPENDENCY_REPORT "${name}: pinned source")
    set(OMNI_DEPS_BUILT_FROM_SOURCE ON)
  endif()
endmacro()
