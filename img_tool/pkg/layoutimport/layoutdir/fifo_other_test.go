//go:build !unix

package layoutdir_test

import "errors"

func mkfifo(string) error { return errors.New("no FIFOs here") }
