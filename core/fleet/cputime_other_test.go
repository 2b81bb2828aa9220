//go:build !unix

package fleet_test

import "time"

// cpuTime is not measured here: cpu-ns/host reads 0.
func cpuTime() time.Duration { return 0 }
