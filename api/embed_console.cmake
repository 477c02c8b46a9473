# Writes a header holding every file of console/ (the web console's HTML,
# CSS and JavaScript) as a string with its name and a content hash (the
# ETag), so ledgerd serves the console it was built with and nothing from
# disk. A file may not contain the raw-string delimiter )ledgerconsole".
file(GLOB console_files RELATIVE ${CONSOLE_DIR} ${CONSOLE_DIR}/*.html ${CONSOLE_DIR}/*.css ${CONSOLE_DIR}/*.js
     ${CONSOLE_DIR}/*.svg)
list(SORT console_files)
set(body "// Generated from console/ by api/embed_console.cmake. Do not edit.\n#pragma once\n#include <string_view>\nnamespace ledger::api::embedded {\nstruct console_file { std::string_view name; std::string_view etag; std::string_view body; };\ninline constexpr console_file console_files[] = {\n")
foreach(name ${console_files})
  file(READ ${CONSOLE_DIR}/${name} text)
  string(FIND "${text}" ")ledgerconsole\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "console/${name} contains the embedding delimiter )ledgerconsole\"")
  endif()
  file(SHA256 ${CONSOLE_DIR}/${name} hash)
  string(SUBSTRING ${hash} 0 32 etag)
  string(APPEND body "  {\"${name}\", \"\\\"${etag}\\\"\", R\"ledgerconsole(${text})ledgerconsole\"},\n")
endforeach()
string(APPEND body "};\n}  // namespace ledger::api::embedded\n")
file(WRITE ${OUT}.tmp "${body}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
