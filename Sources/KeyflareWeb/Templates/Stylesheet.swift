/// The console's one stylesheet: readable from 360 px phones to 1440 px desktops, with visible focus.
/// Only a table scrolls sideways, inside its `.table-wrap`; that box is `position: relative` so the
/// absolutely positioned screen-reader text (`.sr`) in a scrolled table is clipped by it rather than
/// placed against the page, which made the whole page 697 px wide at 360 px; a chart's `figure` is
/// positioned and clipped for the same reason, for its screen-reader table.
enum Stylesheet {
    static let css = """
        *{box-sizing:border-box}
        body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#f6f7f9}
        a{color:#0b5cad}
        :focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
        .skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px 8px;z-index:2}
        .sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
        .bar{display:flex;flex-wrap:wrap;gap:8px 20px;align-items:center;padding:10px 16px;background:#14213d;color:#fff}
        .bar a{color:#fff;text-decoration:none}.bar nav{display:flex;gap:14px;flex-wrap:wrap}
        .bar nav a[aria-current=page]{border-bottom:2px solid #f59e0b}
        .brand{font-weight:700;font-size:1.1rem}
        .signout{margin-left:auto;display:flex;gap:8px;align-items:center;flex-wrap:wrap}.who{font-size:.9rem;opacity:.9}
        main{max-width:1200px;margin:0 auto;padding:16px}
        main p,main h1,main h2,label{overflow-wrap:anywhere}
        h1{font-size:1.6rem;margin:.5rem 0 1rem}h2{font-size:1.2rem;margin:0 0 .75rem}
        .card{background:#fff;border:1px solid #d8dde3;border-radius:8px;padding:16px;margin:16px 0}
        .narrow{max-width:520px}
        label{display:block;margin:.6rem 0 .2rem;font-weight:600}
        fieldset label{font-weight:400}
        fieldset{border:1px solid #d8dde3;border-radius:6px;margin:.8rem 0;padding:.4rem .8rem;min-width:0}
        input,select,textarea{font:inherit;width:100%;max-width:100%;padding:8px;border:1px solid #9aa4af;border-radius:6px;background:#fff}
        input[type=checkbox]{width:auto;margin-right:6px}
        textarea{font-family:ui-monospace,monospace}
        button,.button{font:inherit;display:inline-block;padding:7px 14px;border-radius:6px;border:1px solid #5b6570;background:#fff;color:#1b1f24;cursor:pointer;text-decoration:none;margin-top:.6rem}
        .primary{background:#0b5cad;border-color:#0b5cad;color:#fff}
        .danger{background:#b42318;border-color:#b42318;color:#fff}
        .table-wrap{overflow-x:auto;position:relative;max-width:100%;background:#fff;border:1px solid #d8dde3;border-radius:8px}
        table{border-collapse:collapse;width:100%;font-size:.95rem}
        caption{text-align:left;padding:10px 12px;font-weight:600}
        th,td{padding:8px 12px;border-top:1px solid #e6e9ed;text-align:left;vertical-align:top}
        .actions{min-width:15rem}.actions form.inline{display:inline-flex;gap:6px;align-items:end;flex-wrap:wrap}
        .actions select,.actions input{width:auto}
        .inline button{margin-top:0}
        .scopes{margin:0;padding-left:1rem}
        .badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:.8rem;font-weight:600}
        .badge.disabled{background:#e5e7eb;color:#374151}.badge.over{background:#fef3c7;color:#78350f}.badge.canary{background:#ede9fe;color:#4c1d95}.badge.public{background:#dcfce7;color:#14532d}.badge.private{background:#fee2e2;color:#7f1d1d}
        .notice{background:#e0f2fe;border:1px solid #7dd3fc;padding:8px 12px;border-radius:6px}
        .error{background:#fef2f2;border:1px solid #fca5a5;padding:8px 12px;border-radius:6px;color:#7f1d1d}
        .secret{border:2px solid #f59e0b}
        .copyrow{display:flex;gap:8px}.copyrow input{font-family:ui-monospace,monospace}.copyrow button{margin-top:0}
        .muted{color:#5b6570}
        .chart{margin:0;min-width:8rem;position:relative;overflow:hidden}.chart figcaption{font-size:.8rem}
        .chart-svg{display:block;width:100%;max-width:12rem;height:2.5rem;border-bottom:1px solid #9aa4af}
        .wide .chart-svg{max-width:none;height:8rem}
        .chart-ok{fill:#0b5cad}.chart-limited{fill:#b42318}
        .columns{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:0 16px}
        .facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0 0 1rem}.facts dt{font-weight:600}.facts dd{margin:0;overflow-wrap:anywhere}
        pre{overflow-x:auto;background:#0f172a;color:#e2e8f0;padding:10px;border-radius:6px;font-size:.85rem}
        .examples td{border-top:0;padding-top:0}
        @media (max-width:640px){th,td{padding:6px 8px}.signout{margin-left:0}main{padding:10px}h1{font-size:1.35rem}}
        """
}
