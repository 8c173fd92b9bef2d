package main

import (
	"context"
	"errors"
)

// Placeholder: replaced when the command lands.
func importCommand() command {
	return command{
		name:    "import",
		args:    "[--db PATH] [--config FILE] PATH...",
		summary: "classify local mail and store it (files, directories, mbox, maildir)",
		run: func(ctx context.Context, e *env, args []string) error {
			return errors.New("import: not built yet")
		},
	}
}
