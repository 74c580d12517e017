package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	oklog "github.com/oklog/run"

	"github.com/presage-dev/presage/controller/leader"
)

// run, recommend and sim serve run their subsystems as the actors of an
// oklog.Group (github.com/oklog/run), as Prometheus's main does: each
// actor is an execute function and an interrupt that makes it return. The
// first actor to return interrupts them all, and Group.Run returns its
// error once every actor has returned. The group calls the interrupts one
// after the other, in the order the actors were added, and each interrupt
// here returns only once its actor has stopped: the order of the actors is
// the shutdown order.

// serverShutdownTimeout bounds how long a stopping server waits for the
// requests in flight.
const serverShutdownTimeout = 5 * time.Second

// addContext adds the actor that returns when ctx ends: on SIGINT or
// SIGTERM (see run). It returns nil: a stop on a signal is a clean one.
func addContext(g *oklog.Group, ctx context.Context) {
	addActor(g, ctx, func(ctx context.Context) error {
		<-ctx.Done()
		return nil
	})
}

// addActor adds the actor that runs fn with a context of ctx, which the
// interrupt cancels; the interrupt returns once fn has.
func addActor(g *oklog.Group, ctx context.Context, fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	g.Add(func() error {
		defer close(done)
		return fn(ctx)
	}, func(error) {
		cancel()
		<-done
	})
}

// addServer adds the actor that serves h on ln until interrupted, then
// shuts the server down, waiting up to serverShutdownTimeout for the
// requests in flight.
func addServer(g *oklog.Group, ctx context.Context, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	g.Add(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}, func(error) {
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), serverShutdownTimeout)
		defer cancel()
		srv.Shutdown(shutdown)
	})
}

// addElector adds the actor that campaigns for the Lease until
// interrupted, then releases it. A signal does not stop it (its context is
// not ctx's): add it after the actors that apply actions, so that the
// Lease goes only once they have stopped. A failed election is logged and
// stops nothing: the loop goes on, its actions gated as a follower's.
func addElector(g *oklog.Group, ctx context.Context, e *leader.Elector, log *slog.Logger) {
	addActor(g, context.WithoutCancel(ctx), func(ctx context.Context) error {
		if err := e.Run(ctx); err != nil {
			log.Error("leader election failed", "err", err)
		}
		<-ctx.Done()
		return nil
	})
}
