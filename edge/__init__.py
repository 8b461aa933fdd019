"""Code both pygame agents (totem and display) share, written once.

Data flows one way through an agent: the MQTT link and the HTTP poller (threads) turn what they
receive into :mod:`edge.inputs`; the runtime (main thread) feeds them to the agent's pure reducer,
performs the effects it returns (sound, speech, HTTP jobs) and redraws when the view changed.
"""
