"""What MCF's package tracking event codes mean (the EventCode enum of FBA Outbound 2020-07-01)."""

from __future__ import annotations

EVENT_MEANINGS = {
    "EVENT_101": "Carrier notified to pick up the package",
    "EVENT_102": "Picked up from the fulfillment center",
    "EVENT_201": "Arrival scan",
    "EVENT_202": "Departure scan",
    "EVENT_203": "Arrived in the destination country",
    "EVENT_204": "Customs clearance started",
    "EVENT_205": "Customs clearance completed",
    "EVENT_206": "In transit to the pickup location",
    "EVENT_301": "Delivered",
    "EVENT_302": "Out for delivery",
    "EVENT_304": "Delivery attempted",
    "EVENT_306": "Customer contacted to arrange delivery",
    "EVENT_307": "Delivery appointment scheduled",
    "EVENT_308": "Available for pickup",
    "EVENT_309": "Returned to the seller",
    "EVENT_401": "Held by the carrier: incorrect address",
    "EVENT_402": "Customs clearance delay",
    "EVENT_403": "Customer moved",
    "EVENT_404": "Delivery delayed by external factors",
    "EVENT_405": "Shipment damaged",
    "EVENT_406": "Held by the carrier",
    "EVENT_407": "Customer refused delivery",
    "EVENT_408": "Returning to the seller",
    "EVENT_409": "Lost by the carrier",
    "EVENT_411": "Paperwork received, shipment not received",
    "EVENT_412": "Shipment received, paperwork not received",
    "EVENT_413": "Held by the carrier: customer refused customs charges",
    "EVENT_414": "Missorted by the carrier",
    "EVENT_415": "Received from the previous carrier",
    "EVENT_416": "Undeliverable",
    "EVENT_417": "Shipment missorted",
    "EVENT_418": "Shipment delayed",
    "EVENT_419": "Address corrected, delivery rescheduled",
    "EVENT_801": "Delivered to a locker",
    "EVENT_804": "Picked up from the locker",
}


def event_meaning(code: str | None) -> str | None:
    """A plain description of ``code``, or None for a code this table does not know."""
    return EVENT_MEANINGS.get(code or "")
