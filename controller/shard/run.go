package shard

import (
	"context"
	"slices"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Run keeps this replica's member Lease and the view of the members until
// ctx ends: it renews the Lease every retry_period and lists the member
// Leases after each renewal and again at the instant the first of the
// others' Leases would expire, so that a member's loss is seen as soon as
// its Lease has expired, not up to a retry_period later. When ctx ends it
// stops acting and deletes the member Lease (unless Options.KeepOnStop),
// so that the others take its services at once: cancel ctx only once
// nothing applies actions any more (after controller.Run has returned).
func (m *Membership) Run(ctx context.Context) error {
	m.log.Info("joining the members", "lease_duration", m.lease_, "renew_deadline", m.deadline, "retry_period", m.retry, "handoff", m.Handoff())
	var nextRenew time.Time
	wasActing := false
	for {
		now := m.now()
		if !now.Before(nextRenew) {
			m.renew(ctx)
			nextRenew = now.Add(m.retry)
		}
		next := m.list(ctx)
		wasActing = m.report(wasActing)
		wake := nextRenew
		if !next.IsZero() && next.Before(wake) {
			wake = next
		}
		// Wake also when the hand-off ends, to report it.
		if v := m.view.Load(); !v.joined.IsZero() {
			if h := v.joined.Add(m.deadline); h.After(m.now()) && h.Before(wake) {
				wake = h
			}
		}
		t := time.NewTimer(max(wake.Sub(m.now()), time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			m.stop(ctx)
			return nil
		case <-t.C:
		}
	}
}

// report exports the view's gauges and logs when acting starts or stops;
// it returns whether the replica acts now.
func (m *Membership) report(was bool) bool {
	now := m.now()
	v := m.view.Load()
	acting := v.acting(m, now)
	owned := 0
	if acting {
		for _, s := range m.services {
			if Owner(s, v.members) == m.identity {
				owned++
			}
		}
	}
	m.members.Set(float64(len(v.members)))
	m.owned.Set(float64(owned))
	m.acting.Set(b2f(acting))
	switch {
	case acting && !was:
		m.log.Info("shard: acting on the services this member owns", "owned", owned, "members", len(v.members))
	case !acting && was && v.stopped:
		m.log.Info("shard: stopping: not acting on any service")
	case !acting && was:
		m.log.Warn("shard: not acting on any service: the member Lease or the view is older than renew_deadline",
			"renewed", v.renewed.UTC().Format(time.RFC3339Nano), "listed", v.listedAt.UTC().Format(time.RFC3339Nano))
	}
	return acting
}

// renew writes this replica's member Lease with a fresh renewTime (the
// time the write is sent), creating it when it does not exist. A write
// that finds the Lease expired, missing, or this replica no longer acting
// (re)joins: the hand-off starts when it returns.
func (m *Membership) renew(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, m.retry)
	defer cancel()
	leases := m.client.CoordinationV1().Leases(m.ns)
	sent := m.now()
	old := m.view.Load()
	rejoin := old.joined.IsZero() || !sent.Before(old.renewed.Add(m.deadline))
	l := m.own
	if l == nil {
		got, err := leases.Get(rctx, m.lease, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			if ctx.Err() == nil {
				m.log.Warn("shard: reading the member Lease failed", "err", err)
			}
			return
		default:
			l = got
		}
	}
	renewTime := metav1.NewMicroTime(sent)
	var err error
	if l == nil {
		l = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: m.lease, Namespace: m.ns, Labels: map[string]string{Label: m.cfg.Name}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptrTo(m.identity), LeaseDurationSeconds: ptrTo(m.leaseSeconds()),
				AcquireTime: &renewTime, RenewTime: &renewTime},
		}
		l, err = leases.Create(rctx, l, metav1.CreateOptions{})
		rejoin = true
	} else {
		l = l.DeepCopy()
		if l.Spec.RenewTime == nil || !sent.Before(l.Spec.RenewTime.Add(m.lease_)) {
			rejoin = true // it had expired: the others dropped this member
		}
		l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds = ptrTo(m.identity), ptrTo(m.leaseSeconds())
		l.Spec.RenewTime = &renewTime
		if rejoin {
			l.Spec.AcquireTime = &renewTime
		}
		l, err = leases.Update(rctx, l, metav1.UpdateOptions{})
	}
	if err != nil {
		m.own = nil // read it again next time
		if ctx.Err() == nil {
			m.log.Warn("shard: renewing the member Lease failed", "err", err)
		}
		return
	}
	m.own = l
	next := *old
	next.renewed = sent
	if rejoin {
		next.joined = m.now()
		m.log.Info("shard: joined the members; acting after the hand-off", "handoff", m.Handoff(),
			"acting_from", next.joined.Add(m.deadline).UTC().Format(time.RFC3339Nano))
	}
	m.view.Store(&next)
}

// list reads the member Leases and replaces the view's members with those
// whose renewTime + leaseDurationSeconds is after the start of the list.
// It returns when the first of the other members' Leases expires (zero:
// none), for Run to list again then.
func (m *Membership) list(ctx context.Context) time.Time {
	rctx, cancel := context.WithTimeout(ctx, m.retry)
	defer cancel()
	start := m.now()
	ls, err := m.client.CoordinationV1().Leases(m.ns).List(rctx, metav1.ListOptions{LabelSelector: m.selector})
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("shard: listing the member Leases failed", "err", err)
		}
		return time.Time{}
	}
	var members []string
	var first time.Time
	for _, l := range ls.Items {
		s := l.Spec
		if s.HolderIdentity == nil || s.RenewTime == nil || s.LeaseDurationSeconds == nil || l.DeletionTimestamp != nil {
			continue
		}
		exp := s.RenewTime.Add(time.Duration(*s.LeaseDurationSeconds) * time.Second)
		if !exp.After(start) {
			continue
		}
		members = append(members, *s.HolderIdentity)
		if *s.HolderIdentity != m.identity && (first.IsZero() || exp.Before(first)) {
			first = exp
		}
	}
	slices.Sort(members)
	members = slices.Compact(members)
	old := m.view.Load()
	next := *old
	next.members, next.listedAt = members, start
	m.view.Store(&next)
	if !slices.Equal(old.members, members) {
		var joined, left []string
		for _, id := range members {
			if !slices.Contains(old.members, id) {
				joined = append(joined, id)
			}
		}
		for _, id := range old.members {
			if !slices.Contains(members, id) {
				left = append(left, id)
			}
		}
		m.log.Info("shard: members changed", "members", len(members), "joined", joined, "left", left,
			"listed_at", start.UTC().Format(time.RFC3339Nano))
	}
	return first
}

// stop ends acting and deletes the member Lease (unless KeepOnStop).
func (m *Membership) stop(ctx context.Context) {
	old := m.view.Load()
	next := *old
	next.stopped = true
	m.view.Store(&next)
	m.report(true)
	if m.keep {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.deadline)
	defer cancel()
	err := m.client.CoordinationV1().Leases(m.ns).Delete(ctx, m.lease, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		m.log.Warn("shard: deleting the member Lease failed; the others wait for it to expire", "err", err)
		return
	}
	m.log.Info("shard: left the members: the member Lease is deleted")
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func ptrTo[T any](v T) *T { return &v }

// leaseSeconds is lease_duration in the Lease's whole seconds, rounded up:
// never shorter than what the renew_deadline fence assumes.
func (m *Membership) leaseSeconds() int32 {
	return int32((m.lease_ + time.Second - 1) / time.Second)
}
