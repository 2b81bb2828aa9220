// Package abibench measures the choice of the ABI's encoding: the same
// decoder (the zhaoxin plugin's, over the 0xC000_0001 bits) built twice,
// once speaking JSON with encoding/json on both sides and once speaking
// the compact encoding of plugins/internal/wire, each without the SDK so
// that only the encoding differs. Its benchmark reports each module's
// size, load time and per-call cost; plugins/ABI.md records the result.
package abibench
