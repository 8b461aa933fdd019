// User-facing text in pt-BR, English and Spanish. The language is the tenant's (from its queue
// snapshot) unless the page URL says ?lang=; formatting follows the same language and the
// tenant's time zone.

export const LANGUAGES = ["pt-BR", "en", "es"];

// The API's stable error codes that have their own text (publisher_api/errors.py and the issue 9
// contract); any other code reads as a generic failure with its HTTP status.
export const ERROR_CODES = new Set([
  "unauthorized", "forbidden", "not_found", "validation_error", "invalid", "conflict",
  "illegal_transition", "counter_busy", "counter_closed", "counter_paused", "counter_held",
  "internal_error", "too_many_requests", "payload_too_large",
]);

const TABLES = {
  "pt-BR": {
    "app.title": "QueueCast",
    "conn.connecting": "Conectando…",
    "conn.live": "Ao vivo",
    "conn.reconnecting": "Reconectando…",
    "conn.polling": "Atualização periódica",
    "conn.offline": "Sem conexão",
    "sound.enable": "Ativar som",
    "ticket": "Senha",
    "counter": "Guichê",
    "counter.n": "Guichê {counter}",
    "spoken.call": "Senha {code}. {place}.",
    "display.current": "Chamada atual",
    "display.history": "Últimas chamadas",
    "display.none": "Aguardando chamadas",
    "display.waiting": "{count} aguardando",
    "error.tenant": "Unidade não encontrada.",
    "error.generic": "Algo deu errado. Tente novamente.",
    "wait.less": "menos de 1 min",
    "wait.min": "~{minutes} min",
    "wait.hours": "~{hours} h {minutes} min",
    "wait.unknown": "—",
    "status.waiting": "Aguardando",
    "status.called": "Chamada",
    "status.in_service": "Em atendimento",
    "status.completed": "Atendimento concluído",
    "status.no_show": "Não compareceu",
    "status.cancelled": "Cancelada",
    "follow.position": "Sua posição",
    "follow.ahead": "Pessoas à sua frente",
    "follow.wait": "Espera estimada",
    "follow.called": "É a sua vez!",
    "follow.go": "Dirija-se a: {counter}",
    "follow.serving": "Em atendimento: {counter}",
    "follow.ended": "Esta senha foi encerrada.",
    "follow.notfound": "Senha não encontrada. Confira o link ou o QR code.",
    "follow.keep": "Mantenha esta página aberta: avisaremos quando for chamado.",
    "follow.notify": "Avisar-me com uma notificação",
    "follow.notify.on": "Notificações ativadas",
    "totem.choose": "Toque no serviço desejado",
    "totem.key": "Tecla {key}",
    "totem.priority.title": "Atendimento prioritário?",
    "totem.priority.help": "Idosos, gestantes, pessoas com deficiência ou com criança de colo.",
    "totem.priority.yes": "Prioritário",
    "totem.priority.no": "Normal",
    "totem.back": "Voltar",
    "totem.issuing": "Emitindo sua senha…",
    "totem.your": "Sua senha",
    "totem.scan": "Acompanhe pelo celular",
    "totem.done": "Concluir",
    "totem.error": "Não foi possível emitir a senha. Tente novamente.",
    "totem.called": "Senha chamada",
    "totem.recent": "Últimas chamadas",
    "totem.setup.title": "Configurar totem",
    "totem.setup.help": "Cole o token de dispositivo (papel totem) gerado pelo administrador.",
    "totem.setup.token": "Token do dispositivo",
    "totem.setup.save": "Salvar",
    "totem.setup.invalid": "Token inválido ou recusado. Informe um novo token.",
    "op.title": "Console do atendente",
    "op.login": "Entrar",
    "op.username": "Usuário",
    "op.password": "Senha de acesso",
    "op.logout": "Sair",
    "op.counter": "Guichê",
    "op.counter.choose": "Escolha o guichê",
    "op.service": "Serviço",
    "op.service.any": "Todos os serviços",
    "op.current": "Atendimento atual",
    "op.current.none": "Nenhuma senha em atendimento neste guichê.",
    "op.call_next": "Chamar próxima",
    "op.call": "Chamar",
    "op.recall": "Rechamar",
    "op.start": "Iniciar atendimento",
    "op.complete": "Concluir",
    "op.no_show": "Não compareceu",
    "op.transfer": "Transferir",
    "op.transfer.to": "Transferir para",
    "op.placement": "Posição na fila",
    "op.placement.front": "Início da fila",
    "op.placement.back": "Fim da fila",
    "op.queue": "Fila",
    "op.queue.empty": "Ninguém aguardando.",
    "op.nothing": "Ninguém aguardando para chamar.",
    "op.devices": "Dispositivos",
    "op.devices.none": "Nenhum dispositivo conectado ainda.",
    "op.online": "online",
    "op.offline": "offline",
    "op.stats": "Hoje",
    "op.stats.issued": "Emitidas",
    "op.stats.called": "Chamadas",
    "op.stats.completed": "Concluídas",
    "op.stats.no_show": "Não compareceram",
    "op.stats.wait": "Espera média",
    "op.stats.service": "Atendimento médio",
    "op.recent": "Últimas chamadas",
    "op.session": "Sessão expirada. Entre novamente.",
    "op.shortcuts": "Atalhos: N chamar próxima · R rechamar · S iniciar · C concluir",
    "op.priority": "prioritário",
    "display.place": "Local",
    "error.network": "Sem resposta do servidor. Verifique a conexão e tente de novo.",
    "error.unknown": "Algo deu errado (código {status}). Tente novamente.",
    "error.unauthorized": "Sessão inválida ou expirada. Entre novamente.",
    "error.forbidden": "Você não tem permissão para esta ação.",
    "error.not_found": "Não encontrado: a senha, o serviço ou o guichê não existe mais.",
    "error.validation_error": "Dados inválidos. Confira o que foi preenchido.",
    "error.invalid": "Este pedido não é permitido aqui.",
    "error.conflict": "Isto já existe ou foi alterado por outra pessoa. Atualize e tente de novo.",
    "error.illegal_transition": "Ação não permitida: a senha está «{status}».",
    "error.counter_busy": "O guichê ainda está com a senha {number}: conclua ou marque «não compareceu» antes de chamar outra.",
    "error.counter_closed": "Este guichê está fechado. Abra o guichê para chamar.",
    "error.counter_paused": "Guichê em pausa ({reason}). Retome para chamar.",
    "error.counter_held": "Este guichê já está aberto por {holder}.",
    "error.internal_error": "Erro no servidor. Tente novamente; se continuar, avise o suporte.",
    "error.too_many_requests": "Muitas tentativas seguidas. Aguarde um momento e tente de novo.",
    "error.payload_too_large": "Pedido grande demais.",
    "op.login.failed": "Usuário ou senha incorretos.",
    "op.desk": "Meu guichê",
    "op.counter.closed": "Guichê fechado: abra para chamar.",
    "op.counter.mine": "Aberto por você",
    "op.counter.other": "Aberto por {holder}",
    "op.counter.paused": "Em pausa: {reason} ({holder})",
    "op.counter.state.open": "aberto",
    "op.counter.state.paused": "em pausa",
    "op.counter.state.closed": "fechado",
    "op.open": "Abrir guichê",
    "op.takeover": "Assumir guichê",
    "op.pause": "Pausar",
    "op.pause.reason": "Motivo da pausa",
    "op.pause.reasons": "Almoço|Intervalo|Reunião|Problema técnico",
    "op.resume": "Retomar",
    "op.close": "Fechar guichê",
    "op.cancel": "Cancelar senha",
    "op.reactivate": "Reativar",
    "op.undo": "Desfazer",
    "op.timer": "Desde a chamada",
    "op.services": "Chamar destes serviços",
    "op.close.title": "A senha {number} ainda está aberta neste guichê.",
    "op.close.question": "Como encerrá-la antes de chamar outra?",
    "op.close.completed": "Concluída, chamar",
    "op.close.no_show": "Não compareceu, chamar",
    "op.back": "Voltar",
    "op.search": "Buscar senha",
    "op.search.number": "Ex.: A023",
    "op.search.go": "Buscar",
    "op.search.none": "Nenhuma senha com este número.",
    "op.finished": "Finalizadas neste guichê",
    "op.finished.none": "Nenhuma ainda.",
    "op.me": "Você hoje",
    "op.stats.pause": "Em pausa",
    "op.end_reason.call_timeout": "tempo de chamada esgotado",
    "op.end_reason.day_closed": "encerrada no fim do dia",
    "follow.ended.call_timeout": "Esta senha foi chamada e encerrada por não comparecimento.",
    "follow.ended.day_closed": "Esta senha foi encerrada no fim do expediente.",
    "op.done.completed": "Concluída",
    "op.done.no_show": "Não veio",
    "op.done.cancelled": "Cancelada",
  },
  en: {
    "app.title": "QueueCast",
    "conn.connecting": "Connecting…",
    "conn.live": "Live",
    "conn.reconnecting": "Reconnecting…",
    "conn.polling": "Polling",
    "conn.offline": "Offline",
    "sound.enable": "Enable sound",
    "ticket": "Ticket",
    "counter": "Counter",
    "counter.n": "Counter {counter}",
    "spoken.call": "Ticket {code}. {place}.",
    "display.current": "Now calling",
    "display.history": "Recent calls",
    "display.none": "Waiting for calls",
    "display.waiting": "{count} waiting",
    "error.tenant": "Unknown site.",
    "error.generic": "Something went wrong. Please try again.",
    "wait.less": "under 1 min",
    "wait.min": "~{minutes} min",
    "wait.hours": "~{hours} h {minutes} min",
    "wait.unknown": "—",
    "status.waiting": "Waiting",
    "status.called": "Called",
    "status.in_service": "Being served",
    "status.completed": "Completed",
    "status.no_show": "Did not show up",
    "status.cancelled": "Cancelled",
    "follow.position": "Your position",
    "follow.ahead": "People ahead of you",
    "follow.wait": "Estimated wait",
    "follow.called": "It's your turn!",
    "follow.go": "Please go to: {counter}",
    "follow.serving": "Being served at: {counter}",
    "follow.ended": "This ticket is closed.",
    "follow.notfound": "Ticket not found. Check the link or the QR code.",
    "follow.keep": "Keep this page open: we will tell you when you are called.",
    "follow.notify": "Notify me",
    "follow.notify.on": "Notifications are on",
    "totem.choose": "Choose a service",
    "totem.key": "Key {key}",
    "totem.priority.title": "Priority service?",
    "totem.priority.help": "Seniors, pregnant women, people with disabilities or with a small child.",
    "totem.priority.yes": "Priority",
    "totem.priority.no": "Regular",
    "totem.back": "Back",
    "totem.issuing": "Issuing your ticket…",
    "totem.your": "Your ticket",
    "totem.scan": "Follow it on your phone",
    "totem.done": "Done",
    "totem.error": "Could not issue the ticket. Please try again.",
    "totem.called": "Now calling",
    "totem.recent": "Recent calls",
    "totem.setup.title": "Set up this kiosk",
    "totem.setup.help": "Paste the device token (totem role) created by an administrator.",
    "totem.setup.token": "Device token",
    "totem.setup.save": "Save",
    "totem.setup.invalid": "The token is invalid or was refused. Enter a new one.",
    "op.title": "Operator console",
    "op.login": "Sign in",
    "op.username": "Username",
    "op.password": "Password",
    "op.logout": "Sign out",
    "op.counter": "Counter",
    "op.counter.choose": "Choose your counter",
    "op.service": "Service",
    "op.service.any": "All services",
    "op.current": "Current ticket",
    "op.current.none": "No ticket at this counter.",
    "op.call_next": "Call next",
    "op.call": "Call",
    "op.recall": "Recall",
    "op.start": "Start service",
    "op.complete": "Complete",
    "op.no_show": "No-show",
    "op.transfer": "Transfer",
    "op.transfer.to": "Transfer to",
    "op.placement": "Place in queue",
    "op.placement.front": "Front of the queue",
    "op.placement.back": "End of the queue",
    "op.queue": "Queue",
    "op.queue.empty": "Nobody is waiting.",
    "op.nothing": "Nobody is waiting to be called.",
    "op.devices": "Devices",
    "op.devices.none": "No device has connected yet.",
    "op.online": "online",
    "op.offline": "offline",
    "op.stats": "Today",
    "op.stats.issued": "Issued",
    "op.stats.called": "Called",
    "op.stats.completed": "Completed",
    "op.stats.no_show": "No-shows",
    "op.stats.wait": "Mean wait",
    "op.stats.service": "Mean service",
    "op.recent": "Recent calls",
    "op.session": "Your session expired. Please sign in again.",
    "op.shortcuts": "Shortcuts: N call next · R recall · S start · C complete",
    "op.priority": "priority",
    "display.place": "Go to",
    "error.network": "No answer from the server. Check the connection and try again.",
    "error.unknown": "Something went wrong (code {status}). Please try again.",
    "error.unauthorized": "Your session is invalid or expired. Please sign in again.",
    "error.forbidden": "You are not allowed to do this.",
    "error.not_found": "Not found: the ticket, service or counter no longer exists.",
    "error.validation_error": "Invalid input. Check what you entered.",
    "error.invalid": "This request is not allowed here.",
    "error.conflict": "This already exists or was changed by someone else. Refresh and try again.",
    "error.illegal_transition": "Not allowed: the ticket is “{status}”.",
    "error.counter_busy": "This counter still holds ticket {number}: complete it or mark it a no-show before calling another.",
    "error.counter_closed": "This counter is closed. Open it to call.",
    "error.counter_paused": "This counter is paused ({reason}). Resume to call.",
    "error.counter_held": "This counter is already open by {holder}.",
    "error.internal_error": "Server error. Please try again; if it persists, tell support.",
    "error.too_many_requests": "Too many attempts. Wait a moment and try again.",
    "error.payload_too_large": "The request is too large.",
    "op.login.failed": "Wrong username or password.",
    "op.desk": "My counter",
    "op.counter.closed": "Counter closed: open it to call.",
    "op.counter.mine": "Open: you",
    "op.counter.other": "Open by {holder}",
    "op.counter.paused": "Paused: {reason} ({holder})",
    "op.counter.state.open": "open",
    "op.counter.state.paused": "paused",
    "op.counter.state.closed": "closed",
    "op.open": "Open counter",
    "op.takeover": "Take over counter",
    "op.pause": "Pause",
    "op.pause.reason": "Pause reason",
    "op.pause.reasons": "Lunch|Break|Meeting|Technical problem",
    "op.resume": "Resume",
    "op.close": "Close counter",
    "op.cancel": "Cancel ticket",
    "op.reactivate": "Reactivate",
    "op.undo": "Undo",
    "op.timer": "Since the call",
    "op.services": "Call from these services",
    "op.close.title": "Ticket {number} is still open at this counter.",
    "op.close.question": "How did it end, before calling another?",
    "op.close.completed": "Completed, call",
    "op.close.no_show": "No-show, call",
    "op.back": "Back",
    "op.search": "Find a ticket",
    "op.search.number": "E.g. A023",
    "op.search.go": "Search",
    "op.search.none": "No ticket with this number.",
    "op.finished": "Finished at this counter",
    "op.finished.none": "None yet.",
    "op.me": "You today",
    "op.stats.pause": "Paused",
    "op.end_reason.call_timeout": "call timed out",
    "op.end_reason.day_closed": "closed at the end of the day",
    "follow.ended.call_timeout": "This ticket was called and closed because nobody came.",
    "follow.ended.day_closed": "This ticket was closed at the end of the day.",
    "op.done.completed": "Completed",
    "op.done.no_show": "No-show",
    "op.done.cancelled": "Cancelled",
  },
  es: {
    "app.title": "QueueCast",
    "conn.connecting": "Conectando…",
    "conn.live": "En vivo",
    "conn.reconnecting": "Reconectando…",
    "conn.polling": "Actualización periódica",
    "conn.offline": "Sin conexión",
    "sound.enable": "Activar sonido",
    "ticket": "Turno",
    "counter": "Ventanilla",
    "counter.n": "Ventanilla {counter}",
    "spoken.call": "Turno {code}. {place}.",
    "display.current": "Llamando ahora",
    "display.history": "Últimos llamados",
    "display.none": "Esperando llamados",
    "display.waiting": "{count} en espera",
    "error.tenant": "Sede no encontrada.",
    "error.generic": "Algo salió mal. Inténtelo de nuevo.",
    "wait.less": "menos de 1 min",
    "wait.min": "~{minutes} min",
    "wait.hours": "~{hours} h {minutes} min",
    "wait.unknown": "—",
    "status.waiting": "En espera",
    "status.called": "Llamado",
    "status.in_service": "En atención",
    "status.completed": "Atención concluida",
    "status.no_show": "No se presentó",
    "status.cancelled": "Cancelado",
    "follow.position": "Su posición",
    "follow.ahead": "Personas delante de usted",
    "follow.wait": "Espera estimada",
    "follow.called": "¡Es su turno!",
    "follow.go": "Diríjase a: {counter}",
    "follow.serving": "En atención: {counter}",
    "follow.ended": "Este turno fue cerrado.",
    "follow.notfound": "Turno no encontrado. Revise el enlace o el código QR.",
    "follow.keep": "Mantenga esta página abierta: le avisaremos cuando lo llamen.",
    "follow.notify": "Avisarme con una notificación",
    "follow.notify.on": "Notificaciones activadas",
    "totem.choose": "Elija un servicio",
    "totem.key": "Tecla {key}",
    "totem.priority.title": "¿Atención preferencial?",
    "totem.priority.help": "Personas mayores, embarazadas, con discapacidad o con niños pequeños.",
    "totem.priority.yes": "Preferencial",
    "totem.priority.no": "Normal",
    "totem.back": "Volver",
    "totem.issuing": "Emitiendo su turno…",
    "totem.your": "Su turno",
    "totem.scan": "Sígalo en su teléfono",
    "totem.done": "Listo",
    "totem.error": "No se pudo emitir el turno. Inténtelo de nuevo.",
    "totem.called": "Llamando ahora",
    "totem.recent": "Últimos llamados",
    "totem.setup.title": "Configurar el tótem",
    "totem.setup.help": "Pegue el token de dispositivo (rol tótem) creado por un administrador.",
    "totem.setup.token": "Token del dispositivo",
    "totem.setup.save": "Guardar",
    "totem.setup.invalid": "El token no es válido o fue rechazado. Ingrese uno nuevo.",
    "op.title": "Consola del operador",
    "op.login": "Ingresar",
    "op.username": "Usuario",
    "op.password": "Contraseña",
    "op.logout": "Salir",
    "op.counter": "Ventanilla",
    "op.counter.choose": "Elija su ventanilla",
    "op.service": "Servicio",
    "op.service.any": "Todos los servicios",
    "op.current": "Turno actual",
    "op.current.none": "Ningún turno en esta ventanilla.",
    "op.call_next": "Llamar siguiente",
    "op.call": "Llamar",
    "op.recall": "Volver a llamar",
    "op.start": "Iniciar atención",
    "op.complete": "Concluir",
    "op.no_show": "No se presentó",
    "op.transfer": "Transferir",
    "op.transfer.to": "Transferir a",
    "op.placement": "Posición en la fila",
    "op.placement.front": "Inicio de la fila",
    "op.placement.back": "Final de la fila",
    "op.queue": "Fila",
    "op.queue.empty": "Nadie en espera.",
    "op.nothing": "Nadie en espera para llamar.",
    "op.devices": "Dispositivos",
    "op.devices.none": "Ningún dispositivo se ha conectado aún.",
    "op.online": "en línea",
    "op.offline": "fuera de línea",
    "op.stats": "Hoy",
    "op.stats.issued": "Emitidos",
    "op.stats.called": "Llamados",
    "op.stats.completed": "Concluidos",
    "op.stats.no_show": "No se presentaron",
    "op.stats.wait": "Espera media",
    "op.stats.service": "Atención media",
    "op.recent": "Últimos llamados",
    "op.session": "Su sesión expiró. Ingrese de nuevo.",
    "op.shortcuts": "Atajos: N llamar siguiente · R volver a llamar · S iniciar · C concluir",
    "op.priority": "preferencial",
    "display.place": "Diríjase a",
    "error.network": "Sin respuesta del servidor. Revise la conexión e inténtelo de nuevo.",
    "error.unknown": "Algo salió mal (código {status}). Inténtelo de nuevo.",
    "error.unauthorized": "Sesión no válida o vencida. Ingrese de nuevo.",
    "error.forbidden": "No tiene permiso para esta acción.",
    "error.not_found": "No encontrado: el turno, el servicio o la ventanilla ya no existe.",
    "error.validation_error": "Datos no válidos. Revise lo que ingresó.",
    "error.invalid": "Esta solicitud no está permitida aquí.",
    "error.conflict": "Esto ya existe o fue cambiado por otra persona. Actualice e inténtelo de nuevo.",
    "error.illegal_transition": "Acción no permitida: el turno está «{status}».",
    "error.counter_busy": "La ventanilla aún tiene el turno {number}: concluya o marque «no se presentó» antes de llamar otro.",
    "error.counter_closed": "Esta ventanilla está cerrada. Ábrala para llamar.",
    "error.counter_paused": "Ventanilla en pausa ({reason}). Reanude para llamar.",
    "error.counter_held": "Esta ventanilla ya está abierta por {holder}.",
    "error.internal_error": "Error del servidor. Inténtelo de nuevo; si continúa, avise a soporte.",
    "error.too_many_requests": "Demasiados intentos. Espere un momento e inténtelo de nuevo.",
    "error.payload_too_large": "La solicitud es demasiado grande.",
    "op.login.failed": "Usuario o contraseña incorrectos.",
    "op.desk": "Mi ventanilla",
    "op.counter.closed": "Ventanilla cerrada: ábrala para llamar.",
    "op.counter.mine": "Abierta por usted",
    "op.counter.other": "Abierta por {holder}",
    "op.counter.paused": "En pausa: {reason} ({holder})",
    "op.counter.state.open": "abierta",
    "op.counter.state.paused": "en pausa",
    "op.counter.state.closed": "cerrada",
    "op.open": "Abrir ventanilla",
    "op.takeover": "Tomar la ventanilla",
    "op.pause": "Pausar",
    "op.pause.reason": "Motivo de la pausa",
    "op.pause.reasons": "Almuerzo|Descanso|Reunión|Problema técnico",
    "op.resume": "Reanudar",
    "op.close": "Cerrar ventanilla",
    "op.cancel": "Cancelar turno",
    "op.reactivate": "Reactivar",
    "op.undo": "Deshacer",
    "op.timer": "Desde el llamado",
    "op.services": "Llamar de estos servicios",
    "op.close.title": "El turno {number} sigue abierto en esta ventanilla.",
    "op.close.question": "¿Cómo terminó, antes de llamar a otro?",
    "op.close.completed": "Concluido, llamar",
    "op.close.no_show": "No se presentó, llamar",
    "op.back": "Volver",
    "op.search": "Buscar turno",
    "op.search.number": "Ej.: A023",
    "op.search.go": "Buscar",
    "op.search.none": "Ningún turno con este número.",
    "op.finished": "Finalizados en esta ventanilla",
    "op.finished.none": "Ninguno aún.",
    "op.me": "Usted hoy",
    "op.stats.pause": "En pausa",
    "op.end_reason.call_timeout": "tiempo de llamado agotado",
    "op.end_reason.day_closed": "cerrado al final del día",
    "follow.ended.call_timeout": "Este turno fue llamado y cerrado porque nadie se presentó.",
    "follow.ended.day_closed": "Este turno fue cerrado al final del día.",
    "op.done.completed": "Concluido",
    "op.done.no_show": "No vino",
    "op.done.cancelled": "Cancelado",
  },
};

/** The supported language closest to a BCP 47 tag ("pt", "pt-PT" -> pt-BR; "en-US" -> en). */
export function matchLanguage(tag) {
  if (typeof tag !== "string" || tag === "") return null;
  const base = tag.toLowerCase().split(/[-_]/)[0];
  return LANGUAGES.find((lang) => lang.toLowerCase().split("-")[0] === base) ?? null;
}

/**
 * The page's text. The language is ?lang= (override) if it names a supported one, else the
 * tenant's locale once known, else the browser's, else pt-BR (the product's home language).
 */
export class I18n {
  constructor(override = null) {
    this.override = matchLanguage(override);
    this.tenantLang = null;
    this.timezone = undefined;
    this.listeners = [];
  }

  /** Call `listener` whenever the tenant's language or time zone becomes known or changes. */
  onChange(listener) {
    this.listeners.push(listener);
  }

  get lang() {
    return this.override ?? this.tenantLang ?? matchLanguage(navigator.language) ?? "pt-BR";
  }

  /** Learn the tenant's locale and time zone; true when the page language changed. */
  setTenant(locale, timezone) {
    const before = [this.lang, this.timezone];
    this.tenantLang = matchLanguage(locale);
    this.timezone = timezone || undefined;
    const changed = this.lang !== before[0];
    if (changed || this.timezone !== before[1]) for (const listener of this.listeners) listener();
    return changed;
  }

  /** Follow a queue snapshot's locale and time zone, re-translating the page if they changed. */
  follow(snapshot) {
    if (this.setTenant(snapshot.locale, snapshot.timezone)) this.apply();
  }

  /** True when some table has a text for `key` (for codes and reasons that may be new). */
  has(key) {
    return key in TABLES[this.lang] || key in TABLES.en;
  }

  t(key, vars = {}) {
    const text = TABLES[this.lang][key] ?? TABLES.en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
  }

  /** "~12 min", "under 1 min", or a dash when unknown. */
  wait(seconds) {
    if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
      return this.t("wait.unknown");
    }
    if (seconds < 60) return this.t("wait.less");
    const minutes = Math.round(seconds / 60);
    if (minutes < 60) return this.t("wait.min", { minutes });
    return this.t("wait.hours", { hours: Math.floor(minutes / 60), minutes: minutes % 60 });
  }

  /** A compact duration for figures: "42 s", "3 min", "1 h 7 min" (units read alike in all three). */
  duration(seconds) {
    if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) return this.t("wait.unknown");
    if (seconds < 60) return `${Math.round(seconds)} s`;
    const minutes = Math.round(seconds / 60);
    return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }

  /** Hours and minutes of a timestamp in the tenant's time zone. */
  time(value, withSeconds = false) {
    const options = { hour: "2-digit", minute: "2-digit", timeZone: this.timezone };
    if (withSeconds) options.second = "2-digit";
    try {
      return new Intl.DateTimeFormat(this.lang, options).format(new Date(value));
    } catch {
      // An unknown time zone name must not break the page: fall back to the browser's.
      delete options.timeZone;
      return new Intl.DateTimeFormat(this.lang, options).format(new Date(value));
    }
  }

  /**
   * What the speaker says for a call: "Senha A, 0 2 3. Sala de Coleta 4." (digits one by one).
   * `place` is the counter's name; a bare counter number reads "Guichê 3".
   */
  spokenCall(number, place) {
    const match = /^([^\d]*)(\d*)$/.exec(String(number)) ?? ["", String(number), ""];
    const code = [match[1], match[2]]
      .map((part) => part.split("").join(" "))
      .filter(Boolean)
      .join(", ");
    return this.t("spoken.call", { code, place: this.place(place) });
  }

  /** A counter as people know it: its name ("Sala de Coleta 4"), else "Guichê 3". */
  place(counter, name = null) {
    if (typeof name === "string" && name.trim()) return name.trim();
    if (typeof counter === "string" && counter.trim()) return counter.trim();
    if (counter === null || counter === undefined) return "";
    return this.t("counter.n", { counter });
  }

  /**
   * The text people read for a failed API request: the stable `error` code of the body (never
   * the server's English `message`), with the details the code carries (holder, reason...).
   */
  error(error) {
    const status = error?.status ?? 0;
    if (status === 0) return this.t("error.network");
    const body = error?.body && typeof error.body === "object" ? error.body : {};
    const code = typeof body.error === "string" ? body.error : "";
    if (ERROR_CODES.has(code)) {
      return this.t(`error.${code}`, {
        status: typeof body.status === "string" ? this.t(`status.${body.status}`) : "",
        number: body.ticket?.number ?? "",
        holder: body.holder ?? "",
        reason: body.reason ?? "",
      });
    }
    return this.t(status >= 500 ? "error.internal_error" : "error.unknown", { status });
  }

  /** Fill every element carrying data-i18n (text) or data-i18n-label (aria-label). */
  apply(root = document) {
    document.documentElement.lang = this.lang;
    for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = this.t(el.dataset.i18n);
    for (const el of root.querySelectorAll("[data-i18n-label]")) {
      el.setAttribute("aria-label", this.t(el.dataset.i18nLabel));
    }
    for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
      el.setAttribute("placeholder", this.t(el.dataset.i18nPlaceholder));
    }
  }
}

/** Every key of every table, for the test that checks no language misses a text. */
export function tableKeys() {
  return Object.fromEntries(Object.entries(TABLES).map(([lang, table]) => [lang, Object.keys(table)]));
}
