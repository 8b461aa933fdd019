"""Every user-facing word of both agents, in pt-BR, English and Spanish, in one table.

Screens pick a table with :func:`texts_for` (the ``--locale`` option, else the tenant's locale
from the snapshot); speech uses :func:`call_speech`, which spells the ticket number so a synthetic
voice reads "A, 0 2 3" rather than "a twenty-three".
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LOCALE = "pt-BR"


@dataclass(frozen=True, slots=True)
class Texts:
    locale: str
    espeak_voice: str
    ticket: str  # "Senha": the word for a ticket number
    counter: str  # "Guichê"
    spoken_ticket: str
    spoken_counter: str
    # connection indicator
    live: str
    polling: str
    reconnecting: str
    # display
    now_calling: str
    last_calls: str
    waiting_for_calls: str
    # totem
    welcome: str
    choose_service: str
    waiting_count: str  # "{n} waiting"
    wait_estimate: str  # "about {min} min"
    choose_priority: str
    normal: str
    priority: str
    priority_hint: str
    back: str
    issuing: str
    your_ticket: str
    position: str  # "Position in line: {n}"
    next_in_line: str
    estimated_wait: str  # "Estimated wait: {text}"
    served_at: str  # "Served at: {places}" (counter names, on the printed ticket)
    follow_on_phone: str
    touch_to_finish: str
    please_go_to: str
    issue_failed: str
    server_unreachable: str
    no_services: str
    ticket_status_ended: str

    def counter_label(self, counter: int) -> str:
        return f"{self.counter} {counter}"

    def place(self, counter: int | None, name: str | None = None) -> str:
        """A counter as people know it: its name ("Sala de Coleta 4"), else "Guichê 3"."""
        if name and name.strip():
            return name.strip()
        return "" if counter is None else self.counter_label(counter)

    def minutes(self, seconds: int | None) -> str:
        """A rounded wait, never a false promise of "0 min"."""
        if seconds is None:
            return "—"
        return self.wait_estimate.format(min=max(1, round(seconds / 60)))


PT_BR = Texts(
    locale="pt-BR",
    espeak_voice="pt-br",
    ticket="Senha",
    counter="Guichê",
    spoken_ticket="Senha",
    spoken_counter="guichê",
    live="Ao vivo",
    polling="Modo de contingência",
    reconnecting="Reconectando…",
    now_calling="Chamando agora",
    last_calls="Últimas chamadas",
    waiting_for_calls="Aguardando chamadas",
    welcome="Bem-vindo",
    choose_service="Toque no serviço desejado para retirar sua senha",
    waiting_count="{n} aguardando",
    wait_estimate="cerca de {min} min",
    choose_priority="Atendimento preferencial?",
    normal="Normal",
    priority="Preferencial",
    priority_hint="Idosos, gestantes, pessoas com deficiência ou com criança de colo",
    back="Voltar",
    issuing="Emitindo sua senha…",
    your_ticket="Sua senha",
    position="Posição na fila: {n}",
    next_in_line="Você é o próximo!",
    estimated_wait="Espera estimada: {text}",
    served_at="Atendimento em: {places}",
    follow_on_phone="Acompanhe pelo celular",
    touch_to_finish="Toque na tela para concluir",
    please_go_to="Dirija-se a:",
    issue_failed="Não foi possível emitir a senha",
    server_unreachable="Sem conexão com o servidor. Tente novamente em instantes.",
    no_services="Nenhum serviço disponível no momento",
    ticket_status_ended="Atendimento encerrado",
)

EN = Texts(
    locale="en",
    espeak_voice="en-us",
    ticket="Ticket",
    counter="Counter",
    spoken_ticket="Ticket",
    spoken_counter="counter",
    live="Live",
    polling="Fallback mode",
    reconnecting="Reconnecting…",
    now_calling="Now calling",
    last_calls="Last calls",
    waiting_for_calls="Waiting for calls",
    welcome="Welcome",
    choose_service="Touch a service to take your ticket",
    waiting_count="{n} waiting",
    wait_estimate="about {min} min",
    choose_priority="Priority service?",
    normal="Regular",
    priority="Priority",
    priority_hint="Seniors, pregnant women, people with disabilities or with infants",
    back="Back",
    issuing="Printing your ticket…",
    your_ticket="Your ticket",
    position="Position in line: {n}",
    next_in_line="You are next!",
    estimated_wait="Estimated wait: {text}",
    served_at="Served at: {places}",
    follow_on_phone="Follow it on your phone",
    touch_to_finish="Touch the screen to finish",
    please_go_to="Please go to:",
    issue_failed="Could not issue your ticket",
    server_unreachable="No connection to the server. Please try again shortly.",
    no_services="No service available right now",
    ticket_status_ended="Service finished",
)

ES = Texts(
    locale="es",
    espeak_voice="es-419",
    ticket="Turno",
    counter="Ventanilla",
    spoken_ticket="Turno",
    spoken_counter="ventanilla",
    live="En vivo",
    polling="Modo de contingencia",
    reconnecting="Reconectando…",
    now_calling="Llamando ahora",
    last_calls="Últimos llamados",
    waiting_for_calls="Esperando llamados",
    welcome="Bienvenido",
    choose_service="Toque el servicio deseado para obtener su turno",
    waiting_count="{n} en espera",
    wait_estimate="unos {min} min",
    choose_priority="¿Atención preferencial?",
    normal="Normal",
    priority="Preferencial",
    priority_hint="Adultos mayores, embarazadas, personas con discapacidad o con bebés",
    back="Volver",
    issuing="Emitiendo su turno…",
    your_ticket="Su turno",
    position="Posición en la fila: {n}",
    next_in_line="¡Usted es el siguiente!",
    estimated_wait="Espera estimada: {text}",
    served_at="Atención en: {places}",
    follow_on_phone="Sígalo en su celular",
    touch_to_finish="Toque la pantalla para terminar",
    please_go_to="Diríjase a:",
    issue_failed="No fue posible emitir su turno",
    server_unreachable="Sin conexión con el servidor. Intente de nuevo en unos momentos.",
    no_services="Ningún servicio disponible en este momento",
    ticket_status_ended="Atención finalizada",
)

_TABLES = {"pt": PT_BR, "en": EN, "es": ES}


def texts_for(*preferences: str | None) -> Texts:
    """The first supported language among ``preferences`` (``pt-BR``, ``pt_br``, ``en-US``,
    ``es``…), else pt-BR. Only the language part decides: every Portuguese is pt-BR here."""
    for tag in preferences:
        if tag:
            table = _TABLES.get(tag.replace("_", "-").split("-")[0].lower())
            if table is not None:
                return table
    return PT_BR


def spell_number(number: str) -> str:
    """``A023`` -> ``A, 0 2 3``: the prefix as a letter, then digit by digit."""
    letters = "".join(c for c in number if not c.isdigit())
    digits = " ".join(c for c in number if c.isdigit())
    return f"{letters}, {digits}" if letters and digits else letters or digits


def call_speech(texts: Texts, number: str, counter: int, counter_name: str = "") -> str:
    """What the voice says for one call: the counter's name when it has one
    (``Senha A, 0 2 3. Sala de Coleta 4.``), else ``Senha A, 0 2 3. guichê 3.``"""
    place = counter_name.strip() or f"{texts.spoken_counter} {counter}"
    return f"{texts.spoken_ticket} {spell_number(number)}. {place}."
