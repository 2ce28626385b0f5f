"""``cashrail demo``: the bundled sandboxes as local processes, the demo's connector cards and
the scenario that syncs, links, bills, collects, duns and notifies against them.

- :mod:`hub.demo.systems`: which sandboxes there are and the card that talks to each;
- :mod:`hub.demo.sandboxes`: starting and stopping them in the background, their admin API;
- :mod:`hub.demo.install`: the demo's connector cards (created, tested, activated);
- :mod:`hub.demo.seed`: the demo's plans and the cards its customers enter;
- :mod:`hub.demo.report`: what the hub holds beside what the sandboxes recorded;
- :mod:`hub.demo.scenario`: the whole demo, returning its report.
"""
