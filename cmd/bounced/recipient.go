package main

import (
	"context"
	"errors"
)

// Placeholder: replaced when the command lands.
func recipientCommand() command {
	return command{
		name:    "recipient",
		args:    "[--db PATH] ADDRESS | suppress|unsuppress ADDRESS --note TEXT",
		summary: "one address: history and state; suppress or unsuppress by hand",
		run: func(ctx context.Context, e *env, args []string) error {
			return errors.New("recipient: not built yet")
		},
	}
}
