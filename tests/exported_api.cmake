# cmake -DLIBRARY=<shared library> -DEXPECTED=<list file> -DNAMESPACE=<ns> -P exported_api.cmake
#
# Fails when the library's exported symbols of namespace NAMESPACE (functions and the vtables
# and typeinfo of classes, named without parameter lists so that the C++ ABI does not matter)
# differ from the committed list: the API that other plugins link is chosen, not accidental.
execute_process(COMMAND nm -D --defined-only -C ${LIBRARY}
  OUTPUT_VARIABLE symbols RESULT_VARIABLE status ERROR_VARIABLE errors)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "nm could not read ${LIBRARY}: ${errors}")
endif()
string(REPLACE "\n" ";" lines "${symbols}")
set(exported "")
foreach(line IN LISTS lines)
  # "<address> <type> <name>": keep code (T) and data (D, V) defined in the namespace itself.
  if(line MATCHES "^[0-9a-f]+ [TDV] ((typeinfo for |typeinfo name for |vtable for )?${NAMESPACE}::.*)$")
    string(REGEX REPLACE "\\(.*$" "" name "${CMAKE_MATCH_1}")
    string(REGEX REPLACE "\\[abi:cxx11\\]" "" name "${name}")
    list(APPEND exported "${name}")
  endif()
endforeach()
list(REMOVE_DUPLICATES exported)
list(SORT exported)

file(STRINGS ${EXPECTED} expected REGEX "^[^#]")
list(SORT expected)
set(added ${exported})
list(REMOVE_ITEM added ${expected})
set(removed ${expected})
list(REMOVE_ITEM removed ${exported})
if(added OR removed)
  list(JOIN added "\n  " added_text)
  list(JOIN removed "\n  " removed_text)
  message(FATAL_ERROR "${LIBRARY} exports another API than ${EXPECTED} lists.\n"
    "Exported but not listed:\n  ${added_text}\nListed but not exported:\n  ${removed_text}\n"
    "Mark only the trainer-base API FLUX_KONTEXT_API, or update the list (and "
    "docs/plugin-authoring.md) if the API is meant to change.")
endif()
list(LENGTH exported count)
message(STATUS "${LIBRARY}: the ${count} exported ${NAMESPACE} symbols are those listed")
