#!/usr/bin/env bash
# Benchmarks of the WebAssembly plugins (issue 6): the size of each vendor
# plugin, its cold load (wazero compiles it), its warm load (from the
# compilation cache) with the first call, the per-call cost of decode on a
# full CPUID dump, the interpreter for one-shot use, a plugin without a
# language runtime for comparison, and the JSON-vs-compact encoding
# measurement behind the ABI. Prints Markdown for bench/RESULTS.md.
#
# Usage: bash bench/plugins.sh [decode-benchtime]   (default 2s)
# Needs: go; hyperfine for the whole-process timings (skipped without it).
. "$(dirname "$0")/lib.sh"
benchtime=${1:-2s}

echo "## Plugins (issue 6: wasm vendor plugins)"
echo
machine_header "wazero $(go list -m -f '{{.Version}}' github.com/tetratelabs/wazero)"
echo

echo "### Sizes — GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared"
echo
echo "| plugin | .wasm bytes |"
echo "| --- | ---: |"
for v in amd intel zhaoxin; do
  GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o "$tmp/$v.wasm" "./plugins/vendors/$v"
  echo "| $v | $(stat -c %s "$tmp/$v.wasm") |"
done
# The example is a module of its own (examples/vendor-plugin/go.mod).
(cd examples/vendor-plugin && GOWORK=off GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o "$tmp/acme.wasm" .)
echo "| examples/vendor-plugin | $(stat -c %s "$tmp/acme.wasm") |"
echo

echo "### In process — go test -run '^\$' -bench … ./plugins/"
echo
echo '```'
go test -run '^$' -bench 'LoadCold' -benchtime 5x ./plugins/ | grep -E '^Benchmark'
go test -run '^$' -bench 'LoadWarm|LoadInterpreter|LoadAllWarm' -benchtime 50x ./plugins/ | grep -E '^Benchmark'
go test -run '^$' -bench 'Decode|Tiny' -benchmem -benchtime "$benchtime" ./plugins/ | grep -E '^Benchmark'
echo '```'
echo

echo "### Encoding — go test -run '^\$' -bench . ./plugins/internal/abibench/"
echo
echo '```'
go test -run '^$' -bench . -benchmem -benchtime "$benchtime" ./plugins/internal/abibench/ | grep -E '^Benchmark'
echo '```'
echo

go build -o "$tmp/plugtime" ./plugins/internal/plugtime
echo "### Whole process — plugtime: start, load from a warm cache, decode this host's dump, exit"
echo
echo '```'
for v in amd intel zhaoxin; do
  "$tmp/plugtime" -q -cache "$tmp/cache" "$tmp/$v.wasm"   # fill the cache
  for i in 1 2 3; do echo "$v: $("$tmp/plugtime" -cache "$tmp/cache" "$tmp/$v.wasm")"; done
done
echo '```'
echo
if ! command -v hyperfine >/dev/null; then
  echo "hyperfine not installed: whole-process timings skipped (apt-get install hyperfine)"
  exit 0
fi
cmds=()
for v in amd intel zhaoxin; do
  cmds+=(-n "$v: warm cache" "$tmp/plugtime -q -cache $tmp/cache $tmp/$v.wasm")
done
cmds+=(-n "zhaoxin: warm cache, GOGC=off" "env GOGC=off $tmp/plugtime -q -cache $tmp/cache $tmp/zhaoxin.wasm")
cmds+=(-n "zhaoxin: interpreter, no cache" "$tmp/plugtime -q -interpreter $tmp/zhaoxin.wasm")
cmds+=(-n "zhaoxin: compiler, no cache (cold)" "$tmp/plugtime -q $tmp/zhaoxin.wasm")
# The CLI with plugins: models on a recorded host without plugins, with
# one, and with all three (each warm from the compilation cache under
# XDG_CACHE_HOME).
go build -o "$tmp/cpupolicy" ./cmd/cpupolicy
export XDG_CACHE_HOME="$tmp/xdg"
h=testdata/hosts/this-machine.json
"$tmp/cpupolicy" models --host $h --plugin "$tmp/amd.wasm" --plugin "$tmp/intel.wasm" --plugin "$tmp/zhaoxin.wasm" >/dev/null 2>&1
cmds+=(-n "cpupolicy models --host F" "$tmp/cpupolicy models --host $h")
cmds+=(-n "cpupolicy models --host F --plugin amd.wasm" "$tmp/cpupolicy models --host $h --plugin $tmp/amd.wasm")
cmds+=(-n "cpupolicy models --host F, 3 plugins" "$tmp/cpupolicy models --host $h --plugin $tmp/amd.wasm --plugin $tmp/intel.wasm --plugin $tmp/zhaoxin.wasm")
echo "### Whole process — hyperfine -N -w 3 -r 20"
echo
hyperfine -N -w 3 -r 20 --export-markdown "$tmp/h.md" "${cmds[@]}" >/dev/null
cat "$tmp/h.md"
