package catalog

import (
	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/feature"
)

// Latent returns the features of model's definition on machine under
// accel that its expansion lacks (QEMU's feature dependencies hid them;
// see RawExpansion.Latent). With Resolve's features and properties it is
// the whole definition: what a lock file fingerprints, so that a
// definition that changed where the expansion did not is still caught.
// It is empty for a catalog without definitions.
func (c *Catalog) Latent(model, machine string, accel core.Accel) (feature.FeatureSet, error) {
	r, err := c.Resolve(model, machine, accel, "")
	if err != nil {
		return feature.FeatureSet{}, err
	}
	return c.latent(&c.models[c.modelIdx[r.Model]], r.Machine, string(accel)), nil
}
