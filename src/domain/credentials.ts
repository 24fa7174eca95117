/** Activation links (a member sets their first password through one) live 72 hours. */
export const ACTIVATION_TTL_HOURS = 72;
