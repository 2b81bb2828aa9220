package kubernetes

// The manifests are validated against Kubernetes' API schema as the Go
// types of k8s.io/api define it (the OpenAPI schema the API server
// validates with is generated from the same types): each document is
// decoded strictly, so a misspelt or misplaced field, or a value of the
// wrong type, fails. Then the fields that make the example work are
// checked, and the containers' scripts are run with the real cpupolicy.
//
// CPUPOLICY_BIN names the cpupolicy binary to run (the root module's
// internal/examplestest sets it); without it the test builds one from
// this checkout.

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// nfdFeaturesDir is the host directory whose files nfd-worker's local
// feature source reads (NFD's deployment/base/worker-daemonset mounts
// it; docs/usage/customization-guide.md, "Feature files").
const nfdFeaturesDir = "/etc/kubernetes/node-feature-discovery/features.d"

// objects are the decoded manifests, by "Kind/name".
type objects struct {
	ns        []string
	daemonSet *appsv1.DaemonSet
	cronJob   *batchv1.CronJob
	configMap map[string]*corev1.ConfigMap
	pvc       map[string]*corev1.PersistentVolumeClaim
	namespace map[string]*corev1.Namespace
}

// newObject returns a pointer to the typed object for apiVersion and
// kind, or nil for one this example does not use.
func newObject(tm metav1.TypeMeta) any {
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 Namespace":
		return &corev1.Namespace{}
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}
	case "v1 PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}
	case "apps/v1 DaemonSet":
		return &appsv1.DaemonSet{}
	case "batch/v1 CronJob":
		return &batchv1.CronJob{}
	}
	return nil
}

// decodeStrict decodes a YAML document into obj as the API server's
// strict field validation does (kubectl apply --validate=strict): field
// names match case-sensitively, and an unknown or duplicated field is an
// error. (encoding/json, and so yaml.UnmarshalStrict, would take
// "readOnlyRootFileSystem" for readOnlyRootFilesystem.)
func decodeStrict(doc []byte, obj any) error {
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(data, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// load decodes every *.yaml file here strictly.
func load(t *testing.T) *objects {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	o := &objects{configMap: map[string]*corev1.ConfigMap{}, pvc: map[string]*corev1.PersistentVolumeClaim{}, namespace: map[string]*corev1.Namespace{}}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(data), "\n---\n") {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s: document %d: %v", f, i+1, err)
			}
			obj := newObject(tm)
			if obj == nil {
				t.Fatalf("%s: document %d: unexpected %s %s", f, i+1, tm.APIVersion, tm.Kind)
			}
			if err := decodeStrict([]byte(doc), obj); err != nil {
				t.Errorf("%s: document %d (%s): %v", f, i+1, tm.Kind, err)
				continue
			}
			switch v := obj.(type) {
			case *corev1.Namespace:
				o.namespace[v.Name] = v
			case *corev1.ConfigMap:
				o.configMap[v.Name] = v
				o.ns = append(o.ns, v.Namespace)
			case *corev1.PersistentVolumeClaim:
				o.pvc[v.Name] = v
				o.ns = append(o.ns, v.Namespace)
			case *appsv1.DaemonSet:
				if o.daemonSet != nil {
					t.Errorf("%s: a second DaemonSet", f)
				}
				o.daemonSet = v
				o.ns = append(o.ns, v.Namespace)
			case *batchv1.CronJob:
				if o.cronJob != nil {
					t.Errorf("%s: a second CronJob", f)
				}
				o.cronJob = v
				o.ns = append(o.ns, v.Namespace)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if o.daemonSet == nil || o.cronJob == nil {
		t.Fatalf("want a DaemonSet and a CronJob")
	}
	return o
}

// TestManifests checks what the schema cannot: that the objects refer to
// each other correctly and that the DaemonSet writes where NFD reads.
func TestManifests(t *testing.T) {
	o := load(t)
	for _, ns := range o.ns {
		if _, ok := o.namespace[ns]; !ok {
			t.Errorf("namespace %q is not declared", ns)
		}
	}

	ds := o.daemonSet
	if !reflect.DeepEqual(ds.Spec.Selector.MatchLabels, ds.Spec.Template.Labels) {
		t.Errorf("DaemonSet selector %v does not select its pods %v", ds.Spec.Selector.MatchLabels, ds.Spec.Template.Labels)
	}
	dsPod := ds.Spec.Template.Spec
	checkPod(t, o, "DaemonSet", dsPod)
	c := dsPod.Containers[0]
	mounts := hostMounts(dsPod, c)
	if got := mounts[nfdFeaturesDir]; got != nfdFeaturesDir {
		t.Errorf("DaemonSet mounts host %q at %s, want NFD's %s", got, nfdFeaturesDir, nfdFeaturesDir)
	}
	if got := mounts["/dev/kvm"]; got != "/dev/kvm" {
		t.Errorf("DaemonSet mounts host %q at /dev/kvm, want /dev/kvm", got)
	}
	if len(c.Env) != 1 || c.Env[0].Name != "NODE_NAME" || c.Env[0].ValueFrom == nil || c.Env[0].ValueFrom.FieldRef == nil || c.Env[0].ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
		t.Errorf("DaemonSet env %+v, want NODE_NAME from spec.nodeName", c.Env)
	}
	if !dsPod.HostNetwork {
		t.Errorf("DaemonSet pods do not use the host's network (and UTS) namespace: snapshots would record the pod's hostname")
	}
	if c.SecurityContext == nil || c.SecurityContext.Privileged == nil || !*c.SecurityContext.Privileged {
		t.Errorf("DaemonSet container is not privileged: /dev/kvm cannot be opened")
	}
	if !strings.Contains(script(t, c), "-o "+nfdFeaturesDir+"/cpupolicy") {
		t.Errorf("DaemonSet script does not write the labels into %s", nfdFeaturesDir)
	}

	cj := o.cronJob
	if f := strings.Fields(cj.Spec.Schedule); len(f) != 5 {
		t.Errorf("CronJob schedule %q, want 5 fields", cj.Spec.Schedule)
	}
	jobPod := cj.Spec.JobTemplate.Spec.Template.Spec
	if jobPod.RestartPolicy != corev1.RestartPolicyNever && jobPod.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("CronJob pod restartPolicy %q: a Job's must be Never or OnFailure", jobPod.RestartPolicy)
	}
	checkPod(t, o, "CronJob", jobPod)
	// Both mount the same claim at the same path: the fleet reads the
	// snapshots the DaemonSet writes.
	if a, b := claims(dsPod), claims(jobPod); len(a) != 1 || !reflect.DeepEqual(a, b) {
		t.Errorf("DaemonSet mounts claims %v, CronJob %v: want the same one", a, b)
	}
}

// checkPod checks that every volume mount of pod's containers names a
// volume, and every volume's ConfigMap and claim exists.
func checkPod(t *testing.T, o *objects, what string, pod corev1.PodSpec) {
	t.Helper()
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
		if cm := v.ConfigMap; cm != nil {
			if _, ok := o.configMap[cm.Name]; !ok {
				t.Errorf("%s: volume %s: no ConfigMap %q", what, v.Name, cm.Name)
			}
		}
		// The schema types hostPath.type as a string; the API server
		// accepts only these.
		if hp := v.HostPath; hp != nil && hp.Type != nil && !slices.Contains([]corev1.HostPathType{corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory, corev1.HostPathFileOrCreate, corev1.HostPathFile, corev1.HostPathSocket, corev1.HostPathCharDev, corev1.HostPathBlockDev}, *hp.Type) {
			t.Errorf("%s: volume %s: hostPath type %q is not one of Kubernetes'", what, v.Name, *hp.Type)
		}
		if pvc := v.PersistentVolumeClaim; pvc != nil {
			if _, ok := o.pvc[pvc.ClaimName]; !ok {
				t.Errorf("%s: volume %s: no PersistentVolumeClaim %q", what, v.Name, pvc.ClaimName)
			}
		}
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", what, len(pod.Containers))
	}
	for _, m := range pod.Containers[0].VolumeMounts {
		if _, ok := vols[m.Name]; !ok {
			t.Errorf("%s: volume mount %s names no volume", what, m.Name)
		}
	}
}

// hostMounts maps c's mount paths to the host paths mounted there.
func hostMounts(pod corev1.PodSpec, c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.HostPath != nil {
				out[m.MountPath] = v.HostPath.Path
			}
		}
	}
	return out
}

// claims lists "claim at path" for each claim pod's container mounts.
func claims(pod corev1.PodSpec) []string {
	var out []string
	for _, m := range pod.Containers[0].VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.PersistentVolumeClaim != nil {
				out = append(out, v.PersistentVolumeClaim.ClaimName+" at "+m.MountPath)
			}
		}
	}
	return out
}

// script returns the shell script c runs: sh -c SCRIPT.
func script(t *testing.T, c corev1.Container) string {
	t.Helper()
	if !slices.Equal(c.Command, []string{"/bin/sh", "-c"}) || len(c.Args) != 1 {
		t.Fatalf("container %s: command %q args %q, want /bin/sh -c SCRIPT", c.Name, c.Command, c.Args)
	}
	return c.Args[0]
}

// cli is the cpupolicy binary, from CPUPOLICY_BIN or built once.
var cli struct {
	once     sync.Once
	bin, dir string
	err      error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cli.dir != "" {
		os.RemoveAll(cli.dir)
	}
	os.Exit(code)
}

// binDir returns a directory holding the cpupolicy binary, for PATH.
func binDir(t *testing.T) string {
	t.Helper()
	cli.once.Do(func() {
		if cli.dir, cli.err = os.MkdirTemp("", "cpupolicy-k8s-"); cli.err != nil {
			return
		}
		cli.bin = filepath.Join(cli.dir, "cpupolicy")
		if bin := os.Getenv("CPUPOLICY_BIN"); bin != "" {
			cli.err = os.Symlink(bin, cli.bin)
			return
		}
		cmd := exec.Command("go", "build", "-o", cli.bin, "./cmd/cpupolicy")
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			cli.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if cli.err != nil {
		t.Fatal(cli.err)
	}
	return cli.dir
}

// sandbox lays out c's mounts under a temporary directory, as the kubelet
// would (a ConfigMap's keys become files), and returns the script with
// each mount path replaced by its directory there.
func sandbox(t *testing.T, o *objects, pod corev1.PodSpec, c corev1.Container) (dir, sh string) {
	t.Helper()
	dir = t.TempDir()
	sh = script(t, c)
	for _, m := range c.VolumeMounts {
		local := filepath.Join(dir, m.Name)
		if err := os.MkdirAll(local, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil {
				for k, data := range o.configMap[v.ConfigMap.Name].Data {
					if err := os.WriteFile(filepath.Join(local, k), []byte(data), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		sh = strings.ReplaceAll(sh, m.MountPath, local)
	}
	// Files a ConfigMap mounts name paths inside the container (the
	// site file names the snapshots): they are mapped the same way.
	for _, m := range c.VolumeMounts {
		files, _ := filepath.Glob(filepath.Join(dir, m.Name, "*"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			text := string(data)
			for _, m2 := range c.VolumeMounts {
				text = strings.ReplaceAll(text, m2.MountPath, filepath.Join(dir, m2.Name))
			}
			if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir, sh
}

// runScript runs sh with cpupolicy on PATH and returns its output and
// exit status.
func runScript(t *testing.T, sh string, env ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", sh)
	cmd.Env = append(os.Environ(), append(env, "PATH="+binDir(t)+string(os.PathListSeparator)+os.Getenv("PATH"))...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// TestFlags: every cpupolicy command of the scripts parses, each flag
// before the -h appended to it.
func TestFlags(t *testing.T) {
	o := load(t)
	for _, c := range []corev1.Container{o.daemonSet.Spec.Template.Spec.Containers[0], o.cronJob.Spec.JobTemplate.Spec.Template.Spec.Containers[0]} {
		n := 0
		for _, line := range strings.Split(script(t, c), "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "cpupolicy ") {
				continue
			}
			n++
			if out, code := runScript(t, line+" -h", "NODE_NAME=node-1"); code != 0 || !strings.Contains(out, "Flags:") {
				t.Errorf("%s: exit %d\n%s", line, code, out)
			}
		}
		if n == 0 {
			t.Errorf("container %s runs no cpupolicy command", c.Name)
		}
	}
}

// fleetNodes are the nodes of the ConfigMap's site file, each given the
// snapshot of a recorded host (../../testdata/hosts, real CPUs).
var fleetNodes = map[string]string{
	"kvm-intel-1": "xeon-gold-6130",
	"kvm-intel-2": "core-i7-8550u",
	"kvm-amd-1":   "epyc-7502-32-core",
}

// hostnameField is a snapshot's hostname.
var hostnameField = regexp.MustCompile(`"hostname": "[^"]*"`)

// TestFleetJob runs the CronJob's script as written over the snapshots of
// three recorded hosts and the site file of the ConfigMap: every offer
// runs on its pool. Then with an AMD node that hides SSE3 from its guests
// (this-machine, nested KVM under PVM): amd-general does not run there,
// and the job fails, as an alert should fire.
func TestFleetJob(t *testing.T) {
	for _, c := range []struct {
		name     string
		amd      string
		code     int
		runnable map[string]bool
	}{
		{"runs", "epyc-7502-32-core", 0, map[string]bool{"intel-general": true, "amd-general": true}},
		{"does not run", "this-machine", 1, map[string]bool{"intel-general": true, "amd-general": false}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := load(t)
			pod := o.cronJob.Spec.JobTemplate.Spec.Template.Spec
			dir, sh := sandbox(t, o, pod, pod.Containers[0])
			nodes := maps.Clone(fleetNodes)
			nodes["kvm-amd-1"] = c.amd
			for node, h := range nodes {
				data, err := os.ReadFile(filepath.Join("../../testdata/hosts", h+".json"))
				if err != nil {
					t.Fatal(err)
				}
				// The DaemonSet's probe runs in the node's UTS namespace
				// (hostNetwork), so its snapshot records the node's
				// hostname, which names the host in reports.
				data = hostnameField.ReplaceAll(data, []byte(`"hostname": "`+node+`"`))
				if err := os.WriteFile(filepath.Join(dir, "snapshots", node+".json"), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out, code := runScript(t, sh)
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s", code, c.code, out)
			}
			for node := range nodes {
				if !strings.Contains(out, node) {
					t.Errorf("the report does not name node %s:\n%s", node, out)
				}
			}
			data, err := os.ReadFile(filepath.Join(dir, "snapshots", "reports", "fleet.json"))
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Pools []struct {
					Offers []struct {
						Name     string `json:"name"`
						Runnable bool   `json:"runnable"`
					} `json:"offers"`
				} `json:"pools"`
			}
			if err := json.Unmarshal(data, &rep); err != nil {
				t.Fatalf("reports/fleet.json: %v", err)
			}
			got := map[string]bool{}
			for _, p := range rep.Pools {
				for _, of := range p.Offers {
					got[of.Name] = of.Runnable
				}
			}
			if !reflect.DeepEqual(got, c.runnable) {
				t.Errorf("offers runnable %v, want %v\n%s", got, c.runnable, data)
			}
		})
	}
}

// TestDaemonSetRuns runs the DaemonSet's script for one round (its
// "sleep 3600" becomes "break") on this machine, which must have a
// usable /dev/kvm: labels judge under kvm.
func TestDaemonSetRuns(t *testing.T) {
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err != nil {
		t.Skipf("needs a usable /dev/kvm: %v", err)
	} else {
		f.Close()
	}
	o := load(t)
	pod := o.daemonSet.Spec.Template.Spec
	dir, sh := sandbox(t, o, pod, pod.Containers[0])
	if !strings.Contains(sh, "sleep 3600") {
		t.Fatalf("the script has no \"sleep 3600\" to end its loop:\n%s", sh)
	}
	sh = strings.Replace(sh, "sleep 3600", "break", 1)
	if out, code := runScript(t, sh, "NODE_NAME=node-1"); code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "snapshots", "node-1.json")); err != nil {
		t.Error(err)
	}
	labels, err := os.ReadFile(filepath.Join(dir, "features-d", "cpupolicy"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(labels), "# +expiry-time=") || !strings.Contains(string(labels), "cpupolicy.io/baseline=") {
		t.Errorf("labels file:\n%s", labels)
	}
}
