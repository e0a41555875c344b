"""Partner webhooks, both ways, on the Standard Webhooks scheme.

`inbound`: events partners post to us (verified, stored insert-first, acted on once).
`outbound`: events we deliver to partners (a delivery row, then signed attempts).
`transport`: the HTTP POST itself.
"""
