/**
 * Date templates in paths, patterns and file names: `{yyyymmdd}`, `{yyyy-mm-dd}` (alias `{date}`),
 * `{yyyy}`, `{mm}`, `{dd}`, from the logical date's UTC calendar day.
 */
const KEYS = /\{(yyyymmdd|yyyy-mm-dd|date|yyyy|mm|dd)\}/g;

export function renderDateTemplate(text: string, date: Date): string {
  const yyyy = String(date.getUTCFullYear());
  const mm = String(date.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(date.getUTCDate()).padStart(2, '0');
  const parts: Record<string, string> = {
    yyyymmdd: `${yyyy}${mm}${dd}`, 'yyyy-mm-dd': `${yyyy}-${mm}-${dd}`, date: `${yyyy}-${mm}-${dd}`, yyyy, mm, dd,
  };
  return text.replace(KEYS, (_, key: string) => parts[key]);
}
