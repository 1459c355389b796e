//go:build !linux

package awstest

import "syscall"

// sysProcAttr: without Pdeathsig, Main stops dynalite.
func sysProcAttr() *syscall.SysProcAttr { return nil }
