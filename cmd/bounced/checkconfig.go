package main

import (
	"context"
	"errors"
)

// Placeholder: replaced when the command lands.
func checkConfigCommand() command {
	return command{
		name:    "check-config",
		args:    "--config FILE",
		summary: "validate the config, then try every mailbox",
		run: func(ctx context.Context, e *env, args []string) error {
			return errors.New("check-config: not built yet")
		},
	}
}
