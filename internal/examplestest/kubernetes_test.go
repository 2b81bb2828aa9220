package examplestest

// The tests of examples/kubernetes, a module of its own (its tests need
// k8s.io/api): they decode the manifests strictly against Kubernetes'
// API types, check how the objects refer to each other, and run the
// containers' scripts with the cpupolicy built from this checkout.

import (
	"testing"

	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

const kubernetesDir = "../../examples/kubernetes"

// TestKubernetesManifests runs the example's tests that need no /dev/kvm:
// the manifests, every command's flags, and the fleet CronJob's script
// over recorded hosts.
func TestKubernetesManifests(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads and builds k8s.io/api")
	}
	out := goCmd(t, kubernetesDir, []string{"CPUPOLICY_BIN=" + buildCLI(t)}, "test", "-count=1", "-v", "-run", "^(TestManifests|TestFlags|TestFleetJob)$", ".")
	t.Logf("%s", out)
}

// TestKubernetesDaemonSet runs the DaemonSet's script for one round on
// this machine: a live probe, then labels judged under kvm.
func TestKubernetesDaemonSet(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads and builds k8s.io/api")
	}
	testenv.Need(t, testenv.KVM, "labels judge the live snapshot under kvm")
	out := goCmd(t, kubernetesDir, []string{"CPUPOLICY_BIN=" + buildCLI(t)}, "test", "-count=1", "-v", "-run", "^TestDaemonSetRuns$", ".")
	t.Logf("%s", out)
}
