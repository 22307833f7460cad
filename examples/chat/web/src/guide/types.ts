/** The props of the guide's EmailButton, which the guide uses without declaring. */
export type EmailProps = { to: string; subject: string; body: string };
