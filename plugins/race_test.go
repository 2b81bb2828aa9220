//go:build race

package plugins_test

// raceEnabled: the race detector slows the host side of every guest memory
// growth (wazero copies the memory), so a memory bomb needs longer than
// the default deadline to reach its cap.
const raceEnabled = true
