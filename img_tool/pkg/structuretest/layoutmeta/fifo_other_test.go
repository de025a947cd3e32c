//go:build !unix

package layoutmeta_test

import "errors"

func mkfifo(string) error { return errors.New("no FIFOs here") }
