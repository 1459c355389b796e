package awstest

import "syscall"

// sysProcAttr makes the kernel kill dynalite when the test binary dies,
// however it dies (a test timeout's panic included).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
