package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/wampkit/wampkit/client"
	"github.com/wampkit/wampkit/wamp"
	"github.com/wampkit/wampkit/wamp/codec"
)

// parseArgs splits command line arguments into positional and keyword
// arguments.
func parseArgs(args []string) (wamp.List, wamp.Dict, error) {
	var pos wamp.List
	var kw wamp.Dict
	for _, a := range args {
		if key, value, ok := strings.Cut(a, "="); ok && isKey(key) {
			if kw == nil {
				kw = wamp.Dict{}
			}
			if _, dup := kw[key]; dup {
				return nil, nil, usagef("keyword argument %q given twice", key)
			}
			kw[key] = parseValue(value)
			continue
		}
		pos = append(pos, parseValue(a))
	}
	return pos, kw, nil
}

// isKey reports whether s can name a keyword argument: letters, digits
// and _, not starting with a digit.
func isKey(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// parseValue reads s as a JSON value, or else takes it as a string.
func parseValue(s string) any {
	if v, err := codec.DecodeJSONValue([]byte(s)); err == nil {
		return v
	}
	return s
}

// register registers proc and runs command for each invocation until ctx
// ends (an interrupt) or the session is lost.
func register(ctx context.Context, s *client.Session, o *options, proc wamp.URI, command []string, stderr io.Writer) error {
	if _, err := exec.LookPath(command[0]); err != nil {
		return usagef("register: %v", err)
	}
	handler := func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		return runCommand(ctx, command, inv)
	}
	rctx, cancel := context.WithTimeout(ctx, o.timeout)
	_, err := s.Register(rctx, proc, handler, matchOptions(o)...)
	if err != nil {
		err = requestError(rctx, s, err)
	}
	cancel()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wamp: registered %s; running %s for each call\n", proc, strings.Join(command, " "))
	select {
	case <-ctx.Done():
		return nil
	case <-s.Done():
		return &connectError{fmt.Errorf("session lost: %v", s.Err())}
	}
}

// runCommand runs one invocation of command.
func runCommand(ctx context.Context, command []string, inv *client.Invocation) (*client.Result, error) {
	in, err := codec.AppendJSONValue(nil, wamp.Dict{"args": orEmptyList(inv.Args), "kwargs": orEmptyDict(inv.Kwargs)})
	if err != nil {
		return nil, wamp.NewError(wamp.ErrInvalidArgument, "the arguments cannot be written as JSON: "+err.Error())
	}
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Stdin = bytes.NewReader(append(in, '\n'))
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	cmd.Env = append(os.Environ(), "WAMP_PROCEDURE="+string(inv.Procedure()))
	if err := cmd.Run(); err != nil {
		if ee, ok := errors.AsType[*exec.ExitError](err); ok && ctx.Err() == nil {
			msg := strings.TrimSpace(errOut.String())
			if msg == "" {
				msg = fmt.Sprintf("%s exited with status %d", command[0], ee.ExitCode())
			}
			return nil, &wamp.Error{URI: client.RuntimeErrorURI, Args: wamp.List{msg}, Kwargs: wamp.Dict{"exit_code": int64(ee.ExitCode())}}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, wamp.NewError(client.RuntimeErrorURI, "cannot run "+command[0]+": "+err.Error())
	}
	text := bytes.TrimSpace(out.Bytes())
	if len(text) == 0 {
		return nil, nil
	}
	if v, err := codec.DecodeJSONValue(text); err == nil {
		return &client.Result{Args: wamp.List{v}}, nil
	}
	return &client.Result{Args: wamp.List{strings.TrimRight(out.String(), "\r\n")}}, nil
}
