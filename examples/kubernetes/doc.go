// Package kubernetes holds no code: it is the module of the tests of the
// Kubernetes manifests beside it, which need Kubernetes' own API types
// (k8s.io/api) that the cpupolicy module does not depend on.
package kubernetes
