// The dashboard page: Preact components written with htm (tagged templates,
// no build step) and uPlot charts. It polls the JSON API (the summary every
// second, the tables every few seconds) and re-renders what changed, so the
// page follows the cluster without a reload. A 401 from any call shows the
// login form again (the session expired, or the user was deleted).
import { h, render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import uPlot from 'uplot';

const html = htm.bind(h);

// ---- formatting -----------------------------------------------------------

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
function bytes(n) {
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${UNITS[i]}`;
}
const rate = (n) => `${bytes(n)}/s`;
const ops = (n) => `${n >= 1000 ? (n / 1000).toFixed(1) + 'k' : Math.round(n)} op/s`;
const pct = (a, b) => (b > 0 ? (100 * a) / b : 0);
const healthClass = (s) => (s === 'HEALTH_OK' ? 'ok' : s === 'HEALTH_WARN' ? 'warn' : s === 'HEALTH_ERR' ? 'err' : 'unknown');

// ---- data -----------------------------------------------------------------

class Unauthorized extends Error {}

async function api(path, opts = {}) {
  const res = await fetch(path, { credentials: 'same-origin', ...opts, headers: { accept: 'application/json', ...(opts.headers || {}) } });
  if (res.status === 401) throw new Unauthorized('session ended');
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.detail || `HTTP ${res.status}`);
  return body;
}

/** Polls path every ms (the next call only after the last one answered). */
function usePoll(path, ms, onUnauthorized) {
  const [state, setState] = useState({ data: null, error: null, at: 0 });
  useEffect(() => {
    let stopped = false;
    let timer = null;
    const tick = async () => {
      try {
        const data = await api(path);
        if (!stopped) setState({ data, error: null, at: Date.now() });
      } catch (e) {
        if (e instanceof Unauthorized) return onUnauthorized();
        if (!stopped) setState((s) => ({ ...s, error: e.message }));
      }
      if (!stopped) timer = setTimeout(tick, ms);
    };
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [path, ms]);
  return state;
}

// ---- pieces ---------------------------------------------------------------

function Card({ title, children, wide }) {
  return html`<section class=${'card' + (wide ? ' wide' : '')}>
    <h2>${title}</h2>
    ${children}
  </section>`;
}

function Bar({ value, max, cls }) {
  const p = Math.min(100, pct(value, max));
  return html`<div class="bar"><div class=${'fill ' + (cls || (p > 85 ? 'err' : p > 70 ? 'warn' : 'ok'))} style=${{ width: p + '%' }}></div></div>`;
}

function Chart({ title, history, cols, labels, colors, fmt }) {
  const box = useRef(null);
  const plot = useRef(null);
  const data = [history.map((r) => r[0]), ...cols.map((c) => history.map((r) => r[c]))];
  useEffect(() => {
    const el = box.current;
    const width = () => Math.max(200, el.clientWidth - 8);
    plot.current = new uPlot(
      {
        width: width(),
        height: 180,
        series: [
          {},
          ...labels.map((label, i) => ({ label, stroke: colors[i], fill: colors[i] + '22', width: 2, value: (u, v) => (v == null ? '-' : fmt(v)) })),
        ],
        axes: [{}, { values: (u, vals) => vals.map(fmt), size: 70 }],
        scales: { y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      },
      data,
      el,
    );
    const ro = new ResizeObserver(() => plot.current && plot.current.setSize({ width: width(), height: 180 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => {
    if (plot.current) plot.current.setData(data);
  });
  return html`<${Card} title=${title} wide><div class="chart" ref=${box}></div><//>`;
}

// ---- login ----------------------------------------------------------------

function Login({ onLogin }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    setBusy(true);
    setError('');
    try {
      const body = await api('/api/auth', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: form.get('username'), password: form.get('password') }),
      });
      onLogin(body.username);
    } catch (e) {
      setError(e instanceof Unauthorized ? 'Invalid credentials' : e.message);
    } finally {
      setBusy(false);
    }
  };
  return html` <main class="login">
    <form onSubmit=${submit} class="login-box">
      <h1><img src="/static/favicon.svg" alt="" /> mgrpc dashboard</h1>
      <label>Username <input id="username" name="username" autocomplete="username" required autofocus /></label>
      <label>Password <input id="password" name="password" type="password" autocomplete="current-password" required /></label>
      <button type="submit" disabled=${busy}>Log in</button>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <p class="hint">Users are created with <code>mgrctl dashboard ac-user-create &lt;name&gt; &lt;password&gt;</code>.</p>
    </form>
  </main>`;
}

// ---- the dashboard --------------------------------------------------------

function Health({ health }) {
  return html` <${Card} title="Health">
    <div class=${'status ' + healthClass(health.status)} data-testid="health-status">${health.status}</div>
    ${
      health.checks.length
        ? html`<ul class="checks">
            ${health.checks.map(
              (c) => html`<li class=${c.severity === 'HEALTH_ERR' ? 'err' : 'warn'} title=${c.detail.join('\n')}><b>${c.code}</b> ${c.summary}</li>`,
            )}
          </ul>`
        : html`<p class="muted">No health checks raised.</p>`
    }
  <//>`;
}

function Summary({ s }) {
  const capPct = pct(s.capacity.used, s.capacity.total);
  return html` <div class="grid">
      <${Health} health=${s.health} />
      <${Card} title="OSDs">
        <div class="big"><span data-testid="osd-total">${s.osd.total}</span> total</div>
        <div class="pair">
          <span class=${s.osd.up < s.osd.total ? 'warn-text' : ''}><b data-testid="osd-up">${s.osd.up}</b> up</span>
          <span><b data-testid="osd-in">${s.osd.in}</b> in</span>
        </div>
        <div class="muted">osd map epoch <span data-testid="osd-epoch">${s.osd.epoch}</span></div>
      <//>
      <${Card} title="Placement groups">
        <div class="big"><span data-testid="pg-total">${s.pg.total}</span> PGs</div>
        <ul class="states">
          ${s.pg.states.map(
            (st) =>
              html`<li>
                <span class=${'dot ' + (st.state === 'active+clean' ? 'ok' : 'warn')}></span>${st.count}
                ${st.state.replace(/\+/g, '+\u200b') /* may wrap after a + */}
              </li>`,
          )}
        </ul>
      <//>
      <${Card} title="Capacity">
        <div class="big">${capPct.toFixed(1)}%</div>
        <${Bar} value=${s.capacity.used} max=${s.capacity.total} />
        <div class="muted">${bytes(s.capacity.used)} used of ${bytes(s.capacity.total)} · ${s.capacity.objects} objects</div>
      <//>
      <${Card} title="Cluster">
        <table class="kv">
          <tbody>
            <tr>
              <th>Hosts</th>
              <td data-testid="host-count">${s.hosts}</td>
            </tr>
            <tr>
              <th>Pools</th>
              <td>${s.pools}</td>
            </tr>
            <tr>
              <th>Monitors</th>
              <td>${s.mon.total}${s.mon.quorum === null ? '' : ` (${s.mon.quorum} in quorum)`}</td>
            </tr>
            <tr>
              <th>Managers</th>
              <td>${s.mgr.active ? `${s.mgr.active} active` : 'unknown'}${s.mgr.standbys.length ? `, ${s.mgr.standbys.length} standby` : ''}</td>
            </tr>
            <tr>
              <th>MDS</th>
              <td>${s.mds.active} active / ${s.mds.total}</td>
            </tr>
            <tr>
              <th>Object gateways</th>
              <td>${s.rgw}</td>
            </tr>
          </tbody>
        </table>
      <//>
      <${Card} title="Client I/O">
        <div class="pair">
          <span>read <b>${ops(s.io.readOps)}</b></span
          ><span>write <b data-testid="write-ops">${ops(s.io.writeOps)}</b></span>
        </div>
        <div class="pair">
          <span>read <b>${rate(s.io.readBytes)}</b></span
          ><span>write <b>${rate(s.io.writeBytes)}</b></span>
        </div>
      <//>
    </div>
    <div class="grid charts">
      <${Chart}
        title="Cluster IOPS"
        history=${s.history}
        cols=${[1, 2]}
        labels=${['read', 'write']}
        colors=${['#2b8a3e', '#1c7ed6']}
        fmt=${(v) => ops(v).replace(' op/s', '')}
      />
      <${Chart}
        title="Cluster throughput"
        history=${s.history}
        cols=${[3, 4]}
        labels=${['read', 'write']}
        colors=${['#e67700', '#ae3ec9']}
        fmt=${(v) => rate(v)}
      />
    </div>`;
}

const MAX_ROWS = 500;

function OsdTable({ data }) {
  if (!data) return null;
  const rows = data.osds.slice(0, MAX_ROWS);
  return html` <${Card} title=${`OSDs (${data.osds.length})`} wide>
    <table class="list" data-testid="osd-table">
      <thead>
        <tr>
          <th>ID</th>
          <th>Host</th>
          <th>Status</th>
          <th>Weight</th>
          <th>PGs</th>
          <th>Usage</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (o) =>
            html`<tr>
              <td>osd.${o.id}</td>
              <td>${o.host}</td>
              <td>
                <span class=${'badge ' + (o.up ? 'ok' : 'err')}>${o.up ? 'up' : 'down'}</span>
                <span class=${'badge ' + (o.in ? 'ok' : 'warn')}>${o.in ? 'in' : 'out'}</span>
              </td>
              <td>${o.weight.toFixed(2)}</td>
              <td>${o.pgs}</td>
              <td class="usage"><${Bar} value=${o.bytesUsed} max=${o.bytesTotal} /><span>${bytes(o.bytesUsed)} / ${bytes(o.bytesTotal)}</span></td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${data.osds.length > MAX_ROWS && html`<p class="muted">Showing the first ${MAX_ROWS} of ${data.osds.length} OSDs.</p>`}
  <//>`;
}

function PoolTable({ data }) {
  if (!data) return null;
  return html` <${Card} title=${`Pools (${data.pools.length})`} wide>
    <table class="list" data-testid="pool-table">
      <thead>
        <tr>
          <th>Name</th>
          <th>Type</th>
          <th>Size</th>
          <th>PGs</th>
          <th>Applications</th>
          <th>Stored</th>
          <th>Objects</th>
          <th>Usage</th>
          <th>Client I/O</th>
        </tr>
      </thead>
      <tbody>
        ${data.pools.map(
          (p) =>
            html`<tr>
              <td>${p.name}</td>
              <td>${p.type}</td>
              <td>${p.size}/${p.minSize}</td>
              <td>${p.pgNum}</td>
              <td>${p.applications.join(', ')}</td>
              <td>${bytes(p.stored)}</td>
              <td>${p.objects}</td>
              <td class="usage"><${Bar} value=${p.percentUsed} max=${1} /><span>${(p.percentUsed * 100).toFixed(2)}%</span></td>
              <td>${ops(p.readOps + p.writeOps)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  <//>`;
}

function HostTable({ data }) {
  if (!data) return null;
  return html` <${Card} title=${`Hosts and daemons (${data.hosts.length})`} wide>
    <table class="list" data-testid="host-table">
      <thead>
        <tr>
          <th>Host</th>
          <th>Daemons</th>
          <th>Version</th>
        </tr>
      </thead>
      <tbody>
        ${data.hosts.map(
          (x) =>
            html`<tr>
              <td>${x.hostname}</td>
              <td class="chips">${x.services.map((d) => html`<span class="chip">${d}</span>`)}</td>
              <td>${x.version}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  <//>`;
}

function Dashboard({ user, onLogout }) {
  const lost = useCallback(() => onLogout(false), [onLogout]);
  const summary = usePoll('/api/summary', 1000, lost);
  const osds = usePoll('/api/osd', 3000, lost);
  const pools = usePoll('/api/pool', 3000, lost);
  const hosts = usePoll('/api/host', 5000, lost);
  const s = summary.data;
  return html` <header>
      <h1><img src="/static/favicon.svg" alt="" /> mgrpc dashboard</h1>
      <span class="fsid">${s ? `cluster ${s.fsid}` : ''}</span>
      <span class=${'live ' + (summary.error ? 'err' : 'ok')} data-testid="live"
        >${summary.error ? `connection lost: ${summary.error}` : summary.at ? `live · ${new Date(summary.at).toLocaleTimeString()}` : 'connecting…'}</span
      >
      <span class="user">${user}</span>
      <button class="logout" onClick=${() => onLogout(true)}>Log out</button>
    </header>
    <main>
      ${s ? html`<${Summary} s=${s} />` : html`<p class="boot">Loading…</p>`}
      <${OsdTable} data=${osds.data} />
      <${PoolTable} data=${pools.data} />
      <${HostTable} data=${hosts.data} />
    </main>`;
}

function App() {
  const [user, setUser] = useState(undefined); // undefined: checking; null: logged out
  useEffect(() => {
    api('/api/auth/check').then(
      (b) => setUser(b.username),
      () => setUser(null),
    );
  }, []);
  const logout = useCallback(async (ask) => {
    if (ask) await api('/api/auth/logout', { method: 'POST' }).catch(() => undefined);
    setUser(null);
  }, []);
  if (user === undefined) return html`<p class="boot">Loading…</p>`;
  if (user === null) return html`<${Login} onLogin=${setUser} />`;
  return html`<${Dashboard} user=${user} onLogout=${logout} />`;
}

const root = document.getElementById('app');
root.textContent = ''; // the static "Loading" line
render(html`<${App} />`, root);
