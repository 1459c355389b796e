//go:build !linux

package lambdatest

// listensOn cannot tell which process listens where without Linux's /proc:
// the emulator is taken to be ready as soon as its address answers.
func listensOn(int, string) (bool, error) { return true, nil }
