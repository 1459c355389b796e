package config

import "strings"

// checkerFields is the structure of the checker section.
type checkerFields struct {
	schedule    *scalar
	alertEmails []item
	smtpProbe   *field // a boolean
	windowDays  *field // a whole number
	minSessions *field // a whole number
	// silence.sender_days, silence.domain_days, silence.lookback_days:
	// whole numbers.
	senderDays, domainDays, lookbackDays *field
}

// checker reads the checker section, structure first, then values;
// f.val is nil when it is absent.
func (p *parser) checker(f field) Checker {
	c := Checker{
		Schedule:             DefaultSchedule,
		ReadinessWindowDays:  DefaultReadinessWindowDays,
		ReadinessMinSessions: DefaultReadinessMinSessions,
		SilenceSenderDays:    DefaultSilenceSenderDays,
		SilenceDomainDays:    DefaultSilenceDomainDays,
		SilenceLookbackDays:  DefaultSilenceLookbackDays,
	}
	if f.val == nil {
		return c
	}
	cf := p.checkerStructure(f)
	p.checkerValues(cf, &c)
	return c
}

func (p *parser) checkerStructure(f field) checkerFields {
	var cf checkerFields
	fs := p.mapping(f.val, f.path, "schedule", "alert_emails", "smtp_probe", "readiness", "silence")
	if sf, ok := fs["schedule"]; ok {
		if s, ok := p.text(sf); ok {
			cf.schedule = &s
		}
	}
	if af, ok := fs["alert_emails"]; ok {
		cf.alertEmails = p.texts(af)
	}
	if pf, ok := fs["smtp_probe"]; ok {
		if _, ok := p.boolean(pf); ok {
			cf.smtpProbe = &pf
		}
	}
	if rf, ok := fs["readiness"]; ok {
		rs := p.mapping(rf.val, rf.path, "window_days", "min_sessions")
		if wf, ok := rs["window_days"]; ok && p.wholeNumber(wf) {
			cf.windowDays = &wf
		}
		if mf, ok := rs["min_sessions"]; ok && p.wholeNumber(mf) {
			cf.minSessions = &mf
		}
	}
	if sf, ok := fs["silence"]; ok {
		ss := p.mapping(sf.val, sf.path, "sender_days", "domain_days", "lookback_days")
		for k, dst := range map[string]**field{"sender_days": &cf.senderDays, "domain_days": &cf.domainDays, "lookback_days": &cf.lookbackDays} {
			if f, ok := ss[k]; ok && p.wholeNumber(f) {
				*dst = &f
			}
		}
	}
	return cf
}

func (p *parser) checkerValues(cf checkerFields, c *Checker) {
	if s := cf.schedule; s != nil {
		if err := checkSchedule(s.text); err != nil {
			p.addAt(*s, nil, "%v", err)
		} else {
			c.Schedule = s.text
		}
	}
	seen := make(map[string]int)
	for _, it := range cf.alertEmails {
		a, err := parseAddress(it.text)
		if err != nil {
			p.addAt(it.scalar, nil, "%v", err)
			continue
		}
		if j, dup := seen[strings.ToLower(a)]; dup {
			p.addAt(it.scalar, nil, "%s is listed twice (also alert_emails[%d])", it.text, j)
			continue
		}
		seen[strings.ToLower(a)] = it.idx
		c.AlertEmails = append(c.AlertEmails, a)
	}
	if pf := cf.smtpProbe; pf != nil {
		c.SMTPProbe, _ = p.boolean(*pf)
		if c.SMTPProbe {
			p.warn(pf.val.Line, pf.path, "AWS blocks outbound port 25 from Lambda unless the checker runs in a VPC behind a NAT gateway whose block AWS lifted on request")
		}
	}
	if wf := cf.windowDays; wf != nil {
		if v, ok := p.inRange(*wf, 1, 366); ok {
			c.ReadinessWindowDays = int(v)
		}
	}
	if mf := cf.minSessions; mf != nil {
		if v, ok := p.inRange(*mf, 1, 1<<53); ok {
			c.ReadinessMinSessions = v
		}
	}
	p.silenceValues(cf, c)
}

// silenceValues reads checker.silence: 0 switches an alert off; the
// lookback must cover the longer silence, or a silent sender would drop
// out of the reports read before it is called silent.
func (p *parser) silenceValues(cf checkerFields, c *Checker) {
	if f := cf.lookbackDays; f != nil {
		if v, ok := p.inRange(*f, 7, 366); ok {
			c.SilenceLookbackDays = int(v)
		}
	}
	for _, s := range []struct {
		f   *field
		dst *int
	}{{cf.senderDays, &c.SilenceSenderDays}, {cf.domainDays, &c.SilenceDomainDays}} {
		if s.f == nil {
			continue
		}
		v, ok := p.inRange(*s.f, 0, 366)
		if !ok {
			continue
		}
		if int(v) >= c.SilenceLookbackDays {
			p.add(s.f.val.Line, s.f.path, nil, "%d days is not shorter than silence.lookback_days (%d): a sender silent that long is no longer in the reports read", v, c.SilenceLookbackDays)
			continue
		}
		*s.dst = int(v)
	}
}
