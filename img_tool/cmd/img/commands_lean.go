//go:build img_build_actions

package main

import (
	"context"
	"fmt"
	"io"
)

// The build-action tool lacks the commands of commands_full.go; asked for
// one, it says which tool has it instead of "unknown command".
func init() {
	for _, name := range fullOnlyCommands {
		commands[name] = command{
			help: "(only in the full img tool)",
			run: func(context.Context, []string, io.Writer) error {
				return fmt.Errorf("this is the build-action tool, built without the registry and deploy clients; %q is a command of the full img tool", name)
			},
		}
	}
}
