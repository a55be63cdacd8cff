package invoker

import (
	"context"
	"errors"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
)

// run is the retry loop of one invocation: attempts separated by backoff until one ends the
// invocation (End, Suspension, Fail), the partition says the attempt is stale, or it is aborted.
func (v *invocation) run() {
	cfg := v.inv.cfg
	log := cfg.Logger.With("invocation", v.id.String())
	var failures int
	var sinceStored uint32 // retry_count_since_last_stored_entry for the next StartMessage
	for {
		v.setFinishing(false) // a terminal proposal of an earlier attempt failed: live again
		a := newAttempt(v, failures+1, sinceStored)
		v.noteAttempt(failures + 1)
		f := a.run()
		v.observe(a, f)
		a.endSpans(f)
		if f == nil {
			return
		}
		if v.ctx.Err() != nil {
			log.Debug("invocation attempt aborted", "attempt", failures+1, "err", f.err)
			return
		}
		if errors.Is(f.err, ErrStale) {
			log.Debug("invocation attempt stale, not retrying", "attempt", failures+1, "err", f.err)
			return
		}
		if v.yieldRequested() || errors.Is(f.err, errPauseRequested) {
			// An operator paused it: no retry. The failure, if the attempt failed, is kept.
			var last *command.Failure
			if !errors.Is(f.err, errPauseRequested) {
				last = &command.Failure{Code: 500, Message: f.err.Error()}
			}
			log.Debug("invocation attempt ended after an operator's pause", "attempt", failures+1, "err", f.err)
			v.yieldedPause(last, failures)
			return
		}
		failures++
		if a.progress {
			sinceStored = 0
		}
		if !f.noBump {
			sinceStored++
		}
		retry := a.policy.Retry
		if f.terminal || retry.Exhausted(failures) {
			v.noteFailure(f.err, cfg.Now(), 0)
		}
		if f.terminal {
			log.Warn("invocation failed by the deployment", "attempt", failures, "err", f.err)
			v.fail(terminalFailure(f.err))
			return
		}
		if retry.Exhausted(failures) {
			if retry.OnMaxAttempts == OnMaxAttemptsKill {
				// As restate-server: the invocation fails with the last attempt's error, the
				// deployment's code and message when it sent one (e.g. 570 for a journal
				// mismatch), not a generic 500 wrapping it.
				log.Warn("invocation attempt failed, retries exhausted: failing it", "attempt", failures, "err", f.err)
				v.fail(terminalFailure(f.err))
				return
			}
			last := command.Failure{Code: 500, Message: f.err.Error()}
			log.Warn("invocation attempt failed, retries exhausted: pausing it", "attempt", failures, "err", f.err)
			v.pause(last, failures)
			return
		}
		delay := retry.Delay(failures)
		if f.delay > 0 {
			delay = f.delay
		}
		v.noteFailure(f.err, cfg.Now(), delay)
		log.Debug("invocation attempt failed", "attempt", failures, "retry_in", delay, "err", f.err)
		attemptFailures.note(cfg.Logger, cfg.Now(), v.deploymentOf(a), v.id, failures, delay, f.err)
		if !v.sleep(delay) {
			return
		}
	}
}

// sleep waits d before the next attempt: false when the invocation was aborted. An operator's
// pause cuts it short (the next attempt finds the pause and proposes it).
func (v *invocation) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-v.yielding:
		return true
	case <-v.ctx.Done():
		return false
	}
}

// fail proposes the runtime's verdict that the invocation failed, and waits until it is applied.
func (v *invocation) fail(fl command.Failure) {
	v.markFinishing()
	ch := v.propose(command.Command{Kind: command.KindFail, Fail: &command.Fail{ID: v.id, Failure: fl}})
	select {
	case err := <-ch:
		if err != nil {
			v.inv.cfg.Logger.Warn("invocation fail proposal rejected", "invocation", v.id.String(), "err", err)
			return
		}
	case <-v.ctx.Done():
	}
}

// pause proposes that the invocation pause after its last failed attempt (the attempts are
// exhausted), and waits until it is applied.
func (v *invocation) pause(last command.Failure, attempts int) {
	v.markFinishing()
	ch := v.propose(command.Command{Kind: command.KindPause, Pause: &command.Pause{ID: v.id, LastFailure: &last, Attempts: uint32(attempts)}})
	select {
	case err := <-ch:
		if err != nil {
			v.inv.cfg.Logger.Warn("invocation pause proposal rejected", "invocation", v.id.String(), "err", err)
		}
	case <-v.ctx.Done():
	}
}

// yieldedPause proposes that the invocation pause, its attempt having ended (or not started)
// after an operator's pause, and waits until it is applied. last is the attempt's failure, if
// it failed.
func (v *invocation) yieldedPause(last *command.Failure, attempts int) {
	v.markFinishing()
	ch := v.propose(command.Command{Kind: command.KindPause, Pause: &command.Pause{ID: v.id, LastFailure: last, Attempts: uint32(attempts), Yielded: true}})
	select {
	case err := <-ch:
		if err != nil {
			v.inv.cfg.Logger.Warn("invocation pause proposal rejected", "invocation", v.id.String(), "err", err)
		}
	case <-v.ctx.Done():
	}
}

func terminalFailure(err error) command.Failure {
	var se *SDKError
	if errors.As(err, &se) {
		code := uint16(500)
		if se.Code > 0 && se.Code <= 0xFFFF {
			code = uint16(se.Code)
		}
		return command.Failure{Code: code, Message: se.Message}
	}
	return command.Failure{Code: 500, Message: err.Error()}
}

// proposals pipelines an attempt's proposals: they are sent without waiting, and one goroutine
// waits for their results in order. The first error stops the attempt (onErr).
type proposals struct {
	ch chan (<-chan error)
	// dones, only when tracing is on, runs in step with ch: for each proposal, what is told its
	// outcome (nil: nobody). Off, nothing more is allocated per attempt than the results' queue.
	dones chan func(error)
	done  chan struct{}
	first error // written by the watcher before done is closed
}

func watchProposals(ctx context.Context, onErr func(error), traced bool) *proposals {
	ps := &proposals{ch: make(chan (<-chan error), 1024), done: make(chan struct{})}
	if traced {
		ps.dones = make(chan func(error), 1024)
	}
	go ps.watch(ctx, onErr)
	return ps
}

func (ps *proposals) watch(ctx context.Context, onErr func(error)) {
	defer close(ps.done)
	for c := range ps.ch {
		p := pending{c: c}
		if ps.dones != nil {
			p.done = <-ps.dones // sent before c
		}
		if ctx.Err() != nil {
			p.tell(context.Cause(ctx))
			continue // invocation aborted: nobody waits for results any more
		}
		select {
		case err := <-p.c:
			p.tell(err)
			if err != nil && ps.first == nil {
				ps.first = err
				onErr(err)
			}
		case <-ctx.Done():
			p.tell(context.Cause(ctx))
			if ps.first == nil {
				ps.first = context.Cause(ctx)
				onErr(ps.first)
			}
		}
	}
}

// pending is a proposal's result channel and who else wants its outcome (nil: nobody).
type pending struct {
	c    <-chan error
	done func(error)
}

func (p pending) tell(err error) {
	if p.done != nil {
		p.done(err)
	}
}

// add queues a proposal's result channel (and done, told its outcome, if not nil and tracing is
// on); it blocks only when 1024 results are outstanding.
func (ps *proposals) add(c <-chan error, done func(error)) {
	if ps.dones != nil {
		ps.dones <- done
	}
	ps.ch <- c
}

// wait stops accepting proposals and returns the first error once every result is in.
func (ps *proposals) wait() error {
	close(ps.ch)
	<-ps.done
	return ps.first
}
