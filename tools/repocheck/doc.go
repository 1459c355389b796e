// Package repocheck holds repository-wide checks that run with `make test`:
// the repository must stand alone, so no tracked file may refer to a path
// above its root (a test, script or document that only works when something
// happens to lie beside the clone).
package repocheck
