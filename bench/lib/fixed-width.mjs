/** `width` digits of `n`, so a counter never changes a body's length. */
export const digits = (n, width) => {
  const text = String(n);
  if (text.length > width) throw new Error(`counter ${n} does not fit ${width} digits`);
  return text.padStart(width, '0');
};
