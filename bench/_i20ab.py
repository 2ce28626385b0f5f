import statistics, time
from types import SimpleNamespace as NS
from decimal import Decimal
from datetime import date
from jinja2 import Environment, FileSystemLoader, select_autoescape
from hub.documents import render
inv = NS(number="LONG-1", invoice_date=date(2026,1,1), due_date=date(2026,1,15), currency="USD", tax=None, total=Decimal("5000"))
lines = [NS(line_no=n+1, item_code=f"ITEM-{n%37:03d}", description=f"Managed service, device {n+1} of 200",
            quantity=Decimal(n%5+1), unit_price=Decimal("12.50"), amount=Decimal(n%5+1)*Decimal("12.50")) for n in range(200)]
new = render.invoice_html(inv, lines, "Bench Customer", None, "Sender")
old_env = Environment(loader=FileSystemLoader("/tmp/i20old/templates"), autoescape=select_autoescape(["html"]))
old = old_env.get_template("invoice.html").render(invoice=inv, lines=lines, customer="Bench Customer", block=None, sender="Sender", currency="USD", money=render._money("USD"))
render.html_to_pdf(old)
res = {"before": [], "after": []}
for _ in range(5):
    for name, h in (("before", old), ("after", new)):
        w, c = time.perf_counter(), time.process_time(); render.html_to_pdf(h)
        res[name].append((time.perf_counter()-w, time.process_time()-c))
for name, v in res.items():
    print(name, "wall median %.2f s, CPU median %.2f s (min %.2f)" % (statistics.median(x for x,_ in v), statistics.median(y for _,y in v), min(y for _,y in v)))
