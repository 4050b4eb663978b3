"""critmin.trace: traceability and origin compliance.

Public entry points (imported from their modules, nothing heavy is imported here):

* ``critmin.trace.service``: the ``critmin trace`` commands as functions returning JSON-ready
  dicts (``import_file``, ``load_network``, ``check``, ``origin``, ``impact``, ``read_prices``),
  for the CLI and an HTTP service alike;
* ``critmin.trace.epcis``: EPCIS 2.0 JSON / JSON-LD reading (``read_epcis_import``) and writing;
* ``critmin.trace.templates``: RMI CMRT / EMRT / AMRT templates (``read_template``);
* ``critmin.trace.eventhash``: the GS1 EPCIS event hash;
* ``critmin.trace.model``: the network model; ``origin``, ``massbalance``, ``rules``, ``impact``.
"""
