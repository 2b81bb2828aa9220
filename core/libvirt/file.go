package libvirt

import (
	"os"

	"github.com/cpupolicy/cpupolicy/core/feature"
)

// ReadCPUFile reads a domain XML file (or its <cpu> element alone): the
// -cpu spec libvirt would give QEMU for it (CPU.Spec), and the features
// it forbids the host to have (CPU.Forbidden).
func ReadCPUFile(path string, reg *feature.Registry) (spec string, forbidden feature.FeatureSet, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", feature.FeatureSet{}, err
	}
	c, err := ParseCPU(path, data, reg)
	if err != nil {
		return "", feature.FeatureSet{}, err
	}
	return c.Spec(reg), c.Forbidden(), nil
}
