# The engine's areas in layer order (docs/architecture.md). An area may include the headers of
# the areas in the rows above its own, never those of its own row or below: checked here, at
# configure time, for every file under engine/src/<area> and engine/include/cats/<area>, so that
# a violation fails the build instead of waiting for a review.
set(CATS_LAYERS
  "util"
  "core"
  "config|book"
  "plugin|net|sim|record"
  "venues"
  "exec|risk|replay"
  "report"
  "session"
  "bus"
  "app")

function(cats_check_layers engine_dir)
  set(rank 0)
  foreach(row IN LISTS CATS_LAYERS)
    string(REPLACE "|" ";" areas "${row}")
    foreach(area IN LISTS areas)
      set(_rank_${area} ${rank})
    endforeach()
    math(EXPR rank "${rank} + 1")
  endforeach()

  file(GLOB_RECURSE files
    "${engine_dir}/src/*.cpp" "${engine_dir}/src/*.hpp" "${engine_dir}/src/*.h"
    "${engine_dir}/src/*.inl" "${engine_dir}/src/*.ipp"
    "${engine_dir}/include/cats/*.hpp" "${engine_dir}/include/cats/*.h")
  set(violations "")
  foreach(file IN LISTS files)
    file(RELATIVE_PATH rel "${engine_dir}" "${file}")
    if(NOT rel MATCHES "^(src|include/cats)/([a-z_]+)/")
      if(rel MATCHES "^src/")
        list(APPEND violations "${rel}: every engine source belongs to an area (src/<area>/)")
      endif()
      continue()  # a top-level public header (none today)
    endif()
    set(root ${CMAKE_MATCH_1})
    set(area ${CMAKE_MATCH_2})
    if(NOT DEFINED _rank_${area})
      list(APPEND violations "${rel}: area '${area}' is not in CATS_LAYERS (cmake/CatsLayers.cmake)")
      continue()
    endif()
    # Every include directive, however it is spelled: <cats/...>, "cats/...", and relative ones.
    file(STRINGS "${file}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
    foreach(line IN LISTS includes)
      if(line MATCHES "[<\"]cats/([a-z_]+)/")
        set(used ${CMAKE_MATCH_1})
        if(used STREQUAL area OR used STREQUAL "detail")  # detail/: the SDK's own glue
          continue()
        endif()
        if(NOT DEFINED _rank_${used})
          list(APPEND violations "${rel}: includes '${used}', which is not an area")
        elseif(NOT _rank_${used} LESS _rank_${area})
          list(APPEND violations
            "${rel}: ${area} (layer ${_rank_${area}}) includes ${used} (layer ${_rank_${used}}): ${line}")
        endif()
      elseif(line MATCHES "\"([^\"]*\\.\\./[^\"]*)\"")
        # A relative path may climb within its own area only.
        get_filename_component(dir "${file}" DIRECTORY)
        get_filename_component(target "${dir}/${CMAKE_MATCH_1}" ABSOLUTE)
        if(NOT target MATCHES "^${engine_dir}/${root}/${area}/")
          list(APPEND violations "${rel}: a relative include leaves the ${area} area: ${line}")
        endif()
      endif()
    endforeach()
  endforeach()
  if(violations)
    list(JOIN violations "\n  " text)
    message(FATAL_ERROR "An engine area includes one above it (or beside it):\n  ${text}\n"
                        "Layers, lowest first: ${CATS_LAYERS}")
  endif()
endfunction()

# As a script (cmake -DENGINE_DIR=... -DSTAMP=... -P CatsLayers.cmake): the same check at build
# time, re-run whenever an engine source changes (see engine/CMakeLists.txt).
if(CMAKE_SCRIPT_MODE_FILE AND DEFINED ENGINE_DIR)
  cats_check_layers("${ENGINE_DIR}")
  file(TOUCH "${STAMP}")
endif()
