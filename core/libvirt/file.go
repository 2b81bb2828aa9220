package libvirt

import (
	"os"

	"github.com/cpupolicy/cpupolicy/core/feature"
)

// ReadCPUFile reads a domain XML file (or its <cpu> element alone).
func ReadCPUFile(path string, reg *feature.Registry) (*CPU, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseCPU(path, data, reg)
}
