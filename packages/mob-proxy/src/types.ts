/** A function's remote form: the same parameters, a promise of the awaited result. */
export type RemoteFunction<F> = F extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;

type FunctionKeys<T> = { [K in keyof T]-?: T[K] extends (...args: any[]) => any ? K : never }[keyof T];

/** The methods of a module: its own function exports, each remote. */
export type RemoteMethods<T> = { readonly [K in Exclude<FunctionKeys<T>, 'default' | 'then'>]: RemoteFunction<T[K]> };

/**
 * The proxy of a role module `T` (`typeof import('./back')`): every exported function,
 * returning a promise of its awaited result; callable itself when the module is a function
 * (`module.exports = fn`) or has a function default export. Non-function exports are absent.
 */
export type Remote<T = any> = unknown extends T
  ? // Untyped: callable, and any name is a method returning a promise.
    ((...args: any[]) => Promise<any>) & { readonly [name: string]: any }
  : (T extends (...args: any[]) => any
      ? RemoteFunction<T>
      : T extends { default: infer D }
        ? D extends (...args: any[]) => any
          ? RemoteFunction<D>
          : unknown
        : unknown) &
      RemoteMethods<T>;
